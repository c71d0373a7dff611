-- The whole loop against the real server, in a trusted copy of examples/.
return function(H)
  local D = H.data
  local ws = vim.env.HOTMOD_WORKSPACE
  local ui = require('hotmod.ui')
  local commands = require('hotmod.commands')
  local hotmod = require('hotmod')

  vim.g.hotmod_trusted_roots = { ws }
  hotmod.setup({
    cmd = { vim.env.HOTMOD_EXE, 'serve', '--log-file', vim.env.HOTMOD_SERVER_LOG, '--log-level', 'debug' },
    settings = { slowThresholdMs = 7 },
  })

  local t0 = H.now()
  vim.cmd.edit(vim.fn.fnameescape(ws .. '/shop/cart.py'))
  local cart = vim.api.nvim_get_current_buf()
  local checkout_uri = vim.uri_from_fname(ws .. '/shop/checkout.py')
  local checkout = vim.uri_to_bufnr(checkout_uri)

  local function client()
    return vim.lsp.get_clients({ name = 'hotmod', bufnr = cart })[1]
  end
  --- run a server command synchronously (for raw results)
  local function exec(command, argument)
    local result, err, done = nil, nil, false
    local c = client()
    c:request('workspace/executeCommand', {
      command = command,
      arguments = { argument or vim.empty_dict() },
    }, function(e, r)
      result, err, done = r, e, true
    end, cart)
    vim.wait(20000, function()
      return done
    end, 20)
    return result, err
  end
  --- run an Ex command whose output goes to a float; wait for it
  local function shown(name, cmd, title)
    ui.last = nil
    vim.cmd(cmd)
    local ok = H.wait(name, 20000, function()
      return ui.last and ui.last.title == title
    end)
    if not ok then
      return {}, nil
    end
    local last = ui.last
    local relative = vim.api.nvim_win_is_valid(last.winid)
        and vim.api.nvim_win_get_config(last.winid).relative
      or nil
    local lines = vim.api.nvim_buf_get_lines(last.bufnr, 0, -1, false)
    -- close the float, back to the file
    if vim.api.nvim_win_is_valid(last.winid) then
      vim.api.nvim_win_close(last.winid, true)
    end
    return lines, relative
  end
  local function lens_titles(bufnr)
    local titles = {}
    for _, lens in ipairs(vim.lsp.codelens.get(bufnr)) do
      if lens.command then
        table.insert(titles, lens.command.title)
      end
    end
    return titles
  end
  local function virt_text(bufnr)
    local out = {}
    for name, ns in pairs(vim.api.nvim_get_namespaces()) do
      if name:match('^nvim%.lsp%.codelens') then
        for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true })) do
          for _, chunk in ipairs(mark[4].virt_text or {}) do
            table.insert(out, chunk[1])
          end
        end
      end
    end
    return out
  end

  H.wait('client attached', 15000, function()
    return client() ~= nil and client().initialized
  end)
  D.root_dir = client() and client().root_dir

  H.wait('diagnostics published', 30000, function()
    return H.has_code(cart, 'import-error') and H.has_code(checkout, 'dependency-error')
  end)
  D.time_to_diagnostics_ms = H.now() - t0
  D.cart_diagnostics = H.diagnostics(cart)
  D.checkout_diagnostics = H.diagnostics(checkout)
  D.checkout_loaded = vim.api.nvim_buf_is_loaded(checkout)

  H.wait('status idle (broken)', 15000, function()
    local s = hotmod.status(cart)
    return s and s.state == 'idle' and (s.broken or 0) > 0
  end)
  D.statusline_broken = hotmod.statusline(cart)
  D.status_notification = hotmod.status(cart)

  local status = exec('hotmod.status')
  D.init_trusted = status and status.trusted
  D.status_result = status
  D.slow_threshold_ms = (exec('hotmod.performanceSummary') or {}).slow_threshold_ms

  H.wait('cart lenses', 15000, function()
    for _, t in ipairs(lens_titles(cart)) do
      if t:find(' ms') then
        return #virt_text(cart) > 0
      end
    end
  end)
  D.cart_lenses = lens_titles(cart)
  D.cart_lens_virt_text = virt_text(cart)

  -- the lens on line 1 reloads the module and shows the report
  D.lens_output = shown(
    'lens run',
    'lua vim.api.nvim_win_set_cursor(0, { 1, 0 }); vim.lsp.codelens.run()',
    'hotmod: reload'
  )

  -- commands (the current buffer is cart.py)
  D.status_output = shown(':HotmodStatus', 'HotmodStatus', 'hotmod: status')
  D.reload_output, D.reload_float = shown(':HotmodReload', 'HotmodReload', 'hotmod: reload')
  D.reload_all_output = shown(':HotmodReloadAll', 'HotmodReloadAll', 'hotmod: reload all')
  D.memory_output = shown(':HotmodMemory', 'HotmodMemory', 'hotmod: memory')

  -- :HotmodProfile: the server writes an HTML report and asks Neovim to open
  -- it (window/showDocument external -> vim.ui.open, stubbed here)
  D.opened = {}
  local real_open = vim.ui.open
  vim.ui.open = function(path)
    table.insert(D.opened, path)
    return nil, nil
  end
  D.profile_output, D.profile_float = shown(':HotmodProfile', 'HotmodProfile', 'hotmod: profile')
  D.profile_named_output = shown(':HotmodProfile shop.catalog', 'HotmodProfile shop.catalog', 'hotmod: profile')
  H.wait('profile report opened', 10000, function()
    return #D.opened >= 2
  end)
  vim.ui.open = real_open

  D.bad_module_notifications =
    H.expect_error('bad module error', 10000, 'HotmodReload no.such.module')

  -- the fix: define discount() in prices.py, with a buffer edit and :write
  vim.cmd.edit(vim.fn.fnameescape(ws .. '/shop/prices.py'))
  local prices = vim.api.nvim_get_current_buf()
  -- the client attaches on a later tick (root_dir() -> on_dir() is scheduled):
  -- a :write before that would send no didSave
  H.wait('prices attached', 10000, function()
    return #vim.lsp.get_clients({ name = 'hotmod', bufnr = prices }) > 0
  end)
  vim.api.nvim_buf_set_lines(prices, -1, -1, false, {
    '',
    '',
    'def discount(amount: float) -> float:',
    '    return amount',
  })
  local t_write = H.now()
  vim.cmd.write()
  D.wrote_prices = not vim.bo[prices].modified
    and vim.fn.readfile(ws .. '/shop/prices.py')[#vim.fn.readfile(ws .. '/shop/prices.py')] == '    return amount'

  H.wait('diagnostics cleared', 20000, function()
    return #vim.diagnostic.get(cart) == 0 and #vim.diagnostic.get(checkout) == 0
  end)
  D.time_to_clear_ms = H.now() - t_write
  D.cart_diagnostics_after = H.diagnostics(cart)
  D.checkout_diagnostics_after = H.diagnostics(checkout)

  H.wait('status idle (ok)', 15000, function()
    local s = hotmod.status(prices)
    return s and s.state == 'idle' and (s.broken or 0) == 0
  end)
  D.statusline_ok = hotmod.statusline(prices)

  H.wait('prices lenses', 15000, function()
    for _, t in ipairs(lens_titles(prices)) do
      if t:find(' ms') and t:find('reloaded') then
        return true
      end
    end
  end)
  D.prices_lenses = lens_titles(prices)

  -- the cart buffer is hidden now; its lenses were refreshed too
  H.wait('cart lenses refreshed', 15000, function()
    local titles = lens_titles(cart)
    if #titles == 0 then
      return false
    end
    for _, t in ipairs(titles) do
      if t:find('failed') then
        return false
      end
    end
    return true
  end)
  D.cart_lenses_after = lens_titles(cart)

  D.perf_output, D.perf_float = shown(':HotmodPerf', 'HotmodPerf', 'hotmod: performance')

  commands.last_dev_mode = nil
  vim.cmd('HotmodDevMode on')
  H.wait(':HotmodDevMode', 20000, function()
    return commands.last_dev_mode ~= nil
  end)
  D.dev_mode = commands.last_dev_mode
  D.statusline_final = hotmod.statusline(prices)
end
