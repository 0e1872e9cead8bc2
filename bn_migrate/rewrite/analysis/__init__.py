"""The codemod's analysis layer: facts about the program, computed before any rule runs, never edited.

- ``modules``: which files make up a program (local imports across the tree), with the ``ast`` module;
- ``names``: what names are bound where (imports and aliases, bindings of a statement);
- ``syntax``: questions about CST nodes (what a call calls, its arguments, names read);
- ``ranks``: tensor ranks the literals prove (for the fused batch-norm kernel);
- ``program``: one module's TF1 program facts (graph, session, placeholders, train ops, builders);
- ``trees``: one CPython ``ast`` parse per file, shared by the runner, the prefilter and the engine;
- ``walks``: one recorded libcst walk per module, replayed for every analysis that walks it.

Rules read these facts through ``Context.program`` / ``Context.aliases`` and write only edits.
"""
