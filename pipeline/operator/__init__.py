"""The operator at the entrance: corrections of misreads, with an audit log."""
