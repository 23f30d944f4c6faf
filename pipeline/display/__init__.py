"""The drive-in's screens: a page for the service windows, one for the entrance, fed live by
Server-Sent Events from the retained ``<prefix>/queue`` topic."""
