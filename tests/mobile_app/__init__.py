"""Tests of the Flet client's API layer and stores, against the real backend."""
