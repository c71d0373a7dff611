-- hotmod: user commands and code-lens autocommands. The server itself is
-- enabled by require('hotmod').setup() or vim.lsp.enable('hotmod').
if vim.g.loaded_hotmod then
  return
end
vim.g.loaded_hotmod = true

if vim.fn.has('nvim-0.11') == 0 then
  vim.notify_once('hotmod needs Neovim 0.11 or newer', vim.log.levels.WARN)
  return
end

local function cmds()
  return require('hotmod.commands')
end

local command = vim.api.nvim_create_user_command

command('HotmodReload', function(args)
  cmds().reload(args.fargs[1])
end, {
  nargs = '?',
  desc = 'hotmod: re-import a module (default: the current file) and its dependents',
  complete = function(arglead)
    return cmds().complete_modules(arglead)
  end,
})

command('HotmodReloadAll', function()
  cmds().reload_all()
end, { nargs = 0, desc = 'hotmod: re-import every module of the workspace' })

command('HotmodRefresh', function()
  cmds().refresh()
end, { nargs = 0, desc = 'hotmod: rescan the workspace for modules and re-import them' })

command('HotmodDevMode', function(args)
  cmds().dev_mode(args.fargs[1])
end, {
  nargs = '?',
  desc = 'hotmod: toggle dev mode (slow-load warnings), or set it with on/off',
  complete = function()
    return { 'on', 'off', 'toggle' }
  end,
})

command('HotmodPerf', function()
  cmds().perf()
end, { nargs = 0, desc = 'hotmod: performance summary (slowest modules, reloads)' })

command('HotmodMemory', function()
  cmds().memory()
end, { nargs = 0, desc = 'hotmod: memory used by each module' })

command('HotmodProfile', function(args)
  cmds().profile(args.fargs[1])
end, {
  nargs = '?',
  desc = 'hotmod: profile one import of a module (default: the current file): hottest lines, imports',
  complete = function(arglead)
    return cmds().complete_modules(arglead)
  end,
})

command('HotmodStatus', function()
  cmds().status()
end, { nargs = 0, desc = 'hotmod: server and worker status' })

command('HotmodTrust', function()
  cmds().set_trust(true)
end, { nargs = 0, desc = "hotmod: trust the current workspace (run its code) and restart" })

command('HotmodUntrust', function()
  cmds().set_trust(false)
end, { nargs = 0, desc = 'hotmod: stop trusting the current workspace and restart' })

-- Code lenses: request them when a buffer gets the hotmod client and when it
-- is entered again; the server asks for a refresh after each check.
local group = vim.api.nvim_create_augroup('hotmod', { clear = true })

vim.api.nvim_create_autocmd('LspAttach', {
  group = group,
  callback = function(ev)
    local client = vim.lsp.get_client_by_id(ev.data.client_id)
    if not client or client.name ~= 'hotmod' then
      return
    end
    if require('hotmod').options.codelens == false then
      return
    end
    local lsp = require('hotmod.lsp')
    lsp.start_lenses(ev.buf, client.id)
    if lsp.native_codelens() then
      return
    end
    vim.api.nvim_create_autocmd('BufEnter', {
      group = vim.api.nvim_create_augroup('hotmod.codelens.' .. ev.buf, { clear = true }),
      buffer = ev.buf,
      callback = function(e)
        if #vim.lsp.get_clients({ name = 'hotmod', bufnr = e.buf }) > 0 then
          vim.lsp.codelens.refresh({ bufnr = e.buf })
        end
      end,
    })
  end,
})
