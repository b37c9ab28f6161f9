"""Training (issue #5): ``render`` turns corpus instances into training text with loss masks from
token offsets (chat-template and ToolAlpaca formats); ``tokenizer`` loads tokenizers by name. The
TRL SFT job and its trigger come next."""
