"""The citizen desk: an application over the engine, not part of it.

    receipts    the receipt (alındı belgesi): printable HTML and message text
    reports     the desk report (``flowengine report bizim-masa``)
    citizen     ``/durum``: the status lookup, its second factor and throttle
    demo_data   a generated year of Bizim Masa requests (``flowengine demo-data``)

Every module here reads the fields it uses from the flow's ``desk:`` section
(``schema.DeskDoc``), never by a hard-coded name. The receipt's content and
text stay below the engine (``flowengine/receipt_text.py``), which sends it on
start. Nothing in the core (engine, runtime, storage, definition, checks…)
imports this package; the faces (cli, web) do.
"""
