"""Planning machinery several rules share: TF1 layer calls -> Keras layer plans (``layer_calls``), the
placeholder graph as a function (``graph_function``), session runs as training steps (``session_steps``).
Only rules call it; it records into the ``Context`` on a rule's behalf, under that rule's id."""
