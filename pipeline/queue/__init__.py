"""The drive-in queue: a pure model of the cars in the loop and a service that keeps the
retained ``<prefix>/queue`` topic up to date from the arrivals and the windows' commands."""
