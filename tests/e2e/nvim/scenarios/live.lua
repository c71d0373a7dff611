-- Live reload: a running program (started by the test, $HOTMOD_LIVE_PID) takes
-- the workspace's changes. Its modules get the live lens, the statusline says
-- `live 1`, a save is applied, and a refused change is a warning at its line.
return function(H)
  local D = H.data
  local ws = vim.env.HOTMOD_WORKSPACE
  local ui = require('hotmod.ui')
  local hotmod = require('hotmod')

  vim.g.hotmod_trusted_roots = { ws }
  hotmod.setup({
    cmd = { vim.env.HOTMOD_EXE, 'serve', '--log-file', vim.env.HOTMOD_SERVER_LOG, '--log-level', 'debug' },
  })

  local function lens_titles(bufnr)
    local titles = {}
    for _, lens in ipairs(vim.lsp.codelens.get(bufnr)) do
      if lens.command then
        table.insert(titles, lens.command.title)
      end
    end
    return titles
  end
  local function has_lens(bufnr, text)
    for _, t in ipairs(lens_titles(bufnr)) do
      if t:find(text, 1, true) then
        return true
      end
    end
    return false
  end
  local function live_warnings(bufnr)
    return vim.tbl_filter(function(d)
      return d.source == 'hotmod live'
    end, H.diagnostics(bufnr))
  end
  local function attached(bufnr)
    return #vim.lsp.get_clients({ name = 'hotmod', bufnr = bufnr }) > 0
  end

  vim.cmd.edit(vim.fn.fnameescape(ws .. '/shop/prices.py'))
  local prices = vim.api.nvim_get_current_buf()
  H.wait('client attached', 15000, function()
    local c = vim.lsp.get_clients({ name = 'hotmod', bufnr = prices })[1]
    return c and c.initialized
  end)

  -- the program attaches within the server's poll (a second)
  H.wait('statusline live 1', 20000, function()
    return hotmod.statusline(prices):find('live 1', 1, true) ~= nil
  end)
  D.statusline = hotmod.statusline(prices)
  D.status = hotmod.status(prices)
  H.wait('live lens', 20000, function()
    return has_lens(prices, 'live in 1 process')
  end)
  D.prices_lenses = lens_titles(prices)

  -- a save that passes: applied to the program
  vim.api.nvim_buf_set_lines(prices, 1, 2, false, { '    return x * 3' })
  vim.cmd.write()
  H.wait('applied lens', 20000, function()
    return has_lens(prices, 'applied 1×')
  end)
  D.prices_lenses_after = lens_titles(prices)

  -- a dataclass that gains a field: refused, a warning at the field
  vim.cmd.edit(vim.fn.fnameescape(ws .. '/shop/orders.py'))
  local orders = vim.api.nvim_get_current_buf()
  H.wait('orders attached', 10000, function()
    return attached(orders)
  end)
  vim.api.nvim_buf_set_lines(orders, -1, -1, false, { "    note: str = ''" })
  vim.cmd.write()
  H.wait('refusal warning', 20000, function()
    return #live_warnings(orders) > 0
  end)
  D.orders_warnings = live_warnings(orders)

  -- :HotmodLive lists the program
  ui.last = nil
  vim.cmd('HotmodLive')
  H.wait(':HotmodLive', 20000, function()
    return ui.last and ui.last.title == 'hotmod: live'
  end)
  D.live_output = ui.last and vim.api.nvim_buf_get_lines(ui.last.bufnr, 0, -1, false) or {}
end
