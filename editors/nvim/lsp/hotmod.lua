-- The hotmod language server for Neovim 0.11+: `vim.lsp.enable('hotmod')`
-- finds this file on the runtimepath. Like nvim-lspconfig's lsp/*.lua it is a
-- plain table; `require('hotmod').setup()` and `vim.lsp.config('hotmod', ...)`
-- layer the user's options on top. Behaviour (trust, status, code lenses)
-- lives in lua/hotmod/. See `:help hotmod`.
local lsp = require('hotmod.lsp')
local commands = require('hotmod.commands')

---@type vim.lsp.Config
return {
  cmd = { 'hotmod', 'serve' },
  filetypes = { 'python' },
  -- pyproject.toml and setup.py have equal priority; .git is the fallback.
  root_markers = { { 'pyproject.toml', 'setup.py' }, '.git' },
  -- root_markers, and the workspace's trust decided (asking once) before start
  root_dir = lsp.root_dir,
  workspace_required = true,
  -- Server settings (docs/commands.md), answered for `workspace/configuration`
  -- section "hotmod": `settings = { hotmod = { devMode = true } }`. They are
  -- sent as initializationOptions too (before_init), with `trusted`.
  settings = {},
  init_options = {},
  capabilities = {
    workspace = { codeLens = { refreshSupport = true } },
  },
  handlers = {
    ['hotmod/status'] = lsp.on_status,
    ['workspace/codeLens/refresh'] = lsp.on_codelens_refresh,
  },
  -- the commands of the server's code lenses, run so that the result shows
  commands = {
    ['hotmod.reloadModule'] = commands.run_lens,
    ['hotmod.profileModule'] = commands.run_lens,
    ['hotmod.liveProcesses'] = commands.run_lens,
  },
  before_init = lsp.before_init,
  on_init = lsp.on_init,
  on_exit = lsp.on_exit,
}
