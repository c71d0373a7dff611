-- Trust: the prompt (answered "do not trust"), an untrusted server, then
-- :HotmodTrust restarting it trusted.
return function(H)
  local D = H.data
  local ws = vim.env.HOTMOD_WORKSPACE
  local hotmod = require('hotmod')
  local trust = require('hotmod.trust')

  D.prompts = 0
  vim.ui.select = function(items, opts, on_choice)
    D.prompts = D.prompts + 1
    D.prompt = opts.prompt
    vim.schedule(function()
      on_choice(items[2], 2) -- "Do not trust"
    end)
  end

  hotmod.setup({
    cmd = { vim.env.HOTMOD_EXE, 'serve', '--log-file', vim.env.HOTMOD_SERVER_LOG, '--log-level', 'debug' },
  })
  vim.cmd.edit(vim.fn.fnameescape(ws .. '/shop/cart.py'))
  local cart = vim.api.nvim_get_current_buf()

  local function client()
    local c = vim.lsp.get_clients({ name = 'hotmod', bufnr = cart })[1]
    return c and c.initialized and not c:is_stopped() and c or nil
  end
  local function exec(command)
    local result, done = nil, false
    client():request('workspace/executeCommand', {
      command = command,
      arguments = { vim.empty_dict() },
    }, function(e, r)
      result, done = r, true
      if e then
        table.insert(H.errors, command .. ' failed: ' .. vim.inspect(e))
      end
    end, cart)
    vim.wait(20000, function()
      return done
    end, 20)
    return result
  end

  H.wait('client attached', 15000, function()
    return client() ~= nil
  end)
  H.wait('status untrusted', 15000, function()
    local s = hotmod.status(cart)
    return s and s.state == 'untrusted'
  end)
  local first = client()
  local status = exec('hotmod.status')
  D.init_trusted_first = status and status.trusted
  D.statusline_untrusted = hotmod.statusline(cart)
  vim.wait(500) -- give a (wrong) import check time to show up
  D.cart_diagnostics_untrusted = H.diagnostics(cart)
  D.trust_file_first = trust.read()

  D.untrusted_reload_notifications =
    H.expect_error('untrusted reload refused', 10000, 'HotmodReload')

  vim.cmd('HotmodTrust')
  H.wait('restarted trusted', 20000, function()
    local c = client()
    -- commands work once the server has set up its folder (first status)
    return c ~= nil and c.id ~= first.id and hotmod._status[c.id] ~= nil
  end)
  status = exec('hotmod.status')
  D.init_trusted_second = status and status.trusted
  D.trust_file_second = trust.read()
  H.wait('import error after trust', 30000, function()
    return H.has_code(cart, 'import-error')
  end)
  D.prompts_total = D.prompts
end
