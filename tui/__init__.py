"""The facturier terminal app (Textual). Imports the engine; never the reverse."""
