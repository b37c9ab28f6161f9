"""Training: dataset rendering and the TRL SFT job (issue #5). Empty until then: the package exists
so the layout the user fixed is in place and the dependencies (torch, transformers, trl) install."""
