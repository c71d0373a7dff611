-- No setup(): only vim.lsp.enable('hotmod') with lsp/hotmod.lua from the
-- runtimepath and `hotmod` on $PATH, as a plugin manager would leave it.
return function(H)
  local D = H.data
  local ws = vim.env.HOTMOD_WORKSPACE
  vim.g.hotmod_trusted_roots = { ws }
  vim.lsp.enable('hotmod')
  vim.cmd.edit(vim.fn.fnameescape(ws .. '/shop/cart.py'))
  local cart = vim.api.nvim_get_current_buf()
  H.wait('import error', 30000, function()
    return H.has_code(cart, 'import-error')
  end)
  local client = vim.lsp.get_clients({ name = 'hotmod', bufnr = cart })[1]
  D.cmd = client and client.config.cmd
  D.root_dir = client and client.root_dir
  H.wait('status', 10000, function()
    return require('hotmod').status(cart) ~= nil
  end)
  D.statusline = require('hotmod').statusline(cart)
end
