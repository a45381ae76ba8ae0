"""Local storage: streaming hashes, the object cache, atomic file I/O, the stat cache."""
