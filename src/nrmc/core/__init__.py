"""Pure vocabulary shared by every layer; imports nothing else of nrmc."""
