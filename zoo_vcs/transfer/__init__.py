"""The only fsspec user: every copy of bytes between stores, verified, resumed, retried.

Every protocol goes through fsspec (``http(s)://`` through its aiohttp filesystem,
``file://`` and plain paths, ``s3://`` and the rest through ``url_to_fs``). fsspec's own
``get_file`` writes in place and cannot resume, so ``download`` streams through an fsspec
file object itself, appending to a partial file owned by the cache and hashing every byte
on the way. Backend exceptions are translated into ``TransferError`` here and nowhere
else: ``http`` for HTTP(S), ``store`` for every other store (and uploads), ``common`` for
what both share. ``engine`` runs many object transfers (sources to the cache, the cache to
a remote, presence checks) with one pool, one retry policy and one progress protocol.

Importing this package costs nothing: its modules load fsspec only when imported.
"""
