-- Neovim 0.11+ LSP config for hotmod: `vim.lsp.enable('hotmod')` picks it up
-- from the runtimepath; `require('hotmod').setup()` layers its options on top.
-- Everything dynamic (trust, status, code lenses) lives in lua/hotmod/.
return require('hotmod.lsp').default_config()
