"""The codemod: rewrite TF1 batch-norm training programs into idiomatic TF2."""
