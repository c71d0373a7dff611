-- Neovim config for the docs screenshot (see make_screenshot.sh): the plugin
-- from HOTMOD_PLUGIN_DIR, the cwd trusted, diagnostics as virtual text, the
-- hotmod status in the statusline, cart.py above checkout.py.
vim.g.loaded_python3_provider = 0
vim.opt.runtimepath:prepend(vim.env.HOTMOD_PLUGIN_DIR)
vim.o.swapfile = false
vim.o.shadafile = 'NONE'
vim.o.termguicolors = true
vim.o.number = true
vim.o.signcolumn = 'yes'
vim.o.laststatus = 2
vim.o.showmode = false
vim.o.statusline = " %f %m%=%{v:lua.require'hotmod'.statusline()}  %l:%c "
vim.diagnostic.config({
  virtual_text = { prefix = '●', spacing = 2 },
  severity_sort = true,
})
vim.g.hotmod_trusted_roots = { vim.fn.getcwd() }
require('hotmod').setup({ cmd = { vim.env.HOTMOD_EXE, 'serve' } })

vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  callback = function()
    vim.schedule(function()
      vim.cmd('belowright split shop/checkout.py')
      vim.cmd('wincmd k')
      vim.api.nvim_win_set_cursor(0, { 7, 0 })
    end)
  end,
})
