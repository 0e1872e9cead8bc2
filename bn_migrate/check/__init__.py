"""The equivalence checker: runs the original under TF1 semantics and the migration under plain TF2."""
