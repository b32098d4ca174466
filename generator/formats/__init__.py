"""How each command's result becomes the text a user reads: one module per command (its
renderers, each a function from the command's result, as plain data, to text), and
:mod:`.terminal`, the one place that decides colour and width."""
