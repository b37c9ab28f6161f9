"""Helpers the tests share (fixtures' builders, fakes' scripts, checks); no test module imports another."""
