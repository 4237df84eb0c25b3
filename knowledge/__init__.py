"""FAQ knowledge base: store, Chinese matching, gap log."""
