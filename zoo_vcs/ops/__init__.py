"""Operations, one module per command: add, checkout, fetch, push, status, verify, gc, index."""
