"""Small native helpers, compiled on first use with the machine's C compiler and loaded with
ctypes; every caller keeps a pure-Python path that gives the same answer when they cannot be."""
