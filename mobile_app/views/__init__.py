"""One module per screen; each builds controls from a store and calls the store's methods."""
