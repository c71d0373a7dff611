-- `make demo`: Neovim with the hotmod plugin on a copy of examples/.
-- Started with --clean -u this file: the user's own config is not touched.
vim.g.loaded_python3_provider = 0
vim.opt.runtimepath:prepend(vim.env.HOTMOD_PLUGIN_DIR)
vim.o.swapfile = false
vim.o.number = true
vim.o.signcolumn = 'yes'
vim.o.laststatus = 2
vim.o.termguicolors = true
vim.o.statusline = " %f %m%=%{v:lua.require'hotmod'.statusline()}  %l:%c "
vim.diagnostic.config({ virtual_text = { prefix = '●', spacing = 2 }, severity_sort = true })
-- The demo workspace ships with hotmod: trust it without asking.
vim.g.hotmod_trusted_roots = { vim.fn.getcwd() }
require('hotmod').setup({ cmd = { vim.env.HOTMOD_EXE, 'serve' } })

vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  callback = function()
    vim.schedule(function()
      vim.cmd('edit shop/cart.py')
      vim.cmd('belowright split shop/checkout.py')
      vim.cmd('wincmd k')
      -- One line: a longer message would stop at a "Press ENTER" prompt.
      vim.api.nvim_echo({ { 'hotmod demo: add `def discount(x): return x` to shop/prices.py, :w, watch both errors clear. :HotmodPerf  :qa', 'MoreMsg' } }, false, {})
    end)
  end,
})
