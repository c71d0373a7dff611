"""hotmod's language server: translates between LSP and ``hotmod.core``."""
