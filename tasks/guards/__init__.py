"""What comes from outside, bounded: document parsing, the address guard, guarded HTTP."""
