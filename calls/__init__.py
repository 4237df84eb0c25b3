"""Calls: the switchboard's (CTI) call records, the keys switchboards sign with, and the call
figures (人工接通率, waits, handling time). A domain package: no web framework, no adapter."""
