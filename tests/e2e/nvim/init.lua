-- Test init for headless Neovim: `nvim --headless --clean -u init.lua`.
-- Environment (set by conftest.py):
--   HOTMOD_PLUGIN_DIR   the plugin (editors/nvim or a copy) to put on 'runtimepath'
--   HOTMOD_TEST_DIR     this directory (harness.lua, scenarios)
--   HOTMOD_SCENARIO     the Lua test body to run
--   HOTMOD_RESULTS      where the body writes its JSON results
--   HOTMOD_TIMEOUT_MS   hard timeout of the whole run
vim.g.loaded_python3_provider = 0 -- the python ftplugin's provider check costs ~1.2 s
vim.o.swapfile = false
vim.o.shadafile = 'NONE'
vim.o.more = false
vim.opt.runtimepath:prepend(vim.env.HOTMOD_PLUGIN_DIR)
package.path = vim.env.HOTMOD_TEST_DIR .. '/lua/?.lua;' .. package.path

-- Filetype detection is switched on only after this file has run: start the
-- body once Neovim has entered, outside any autocmd (so that :write fires
-- BufWritePost and the client sends didSave).
vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  callback = function()
    vim.schedule(function()
      require('hotmod_test').run(vim.env.HOTMOD_SCENARIO)
    end)
  end,
})
