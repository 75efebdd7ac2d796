"""The patient record: create, update, merge, legal hold, read, search."""
