-- hotmod: user commands and code lenses on attach. The server itself is
-- enabled by require('hotmod').setup() or vim.lsp.enable('hotmod').
if vim.g.loaded_hotmod then
  return
end
vim.g.loaded_hotmod = true

if vim.fn.has('nvim-0.11') == 0 then
  vim.notify_once('hotmod needs Neovim 0.11 or newer', vim.log.levels.WARN)
  return
end

local function modules(arglead)
  return require('hotmod.commands').complete_modules(arglead)
end

local function switch()
  return { 'on', 'off', 'toggle' }
end

local function rerun()
  return { 'rerun' }
end

local function pids()
  return require('hotmod.commands').complete_pids()
end

-- `:{name} [arg]` runs require('hotmod.commands')[{fn}](arg); a command with
-- `complete` takes one optional argument, the others none.
local commands = {
  { name = 'HotmodReload', fn = 'reload', complete = modules,
    desc = 'hotmod: re-import a module (default: the current file) and its dependents' },
  { name = 'HotmodReloadAll', fn = 'reload_all',
    desc = 'hotmod: re-import every module of the workspace' },
  { name = 'HotmodRefresh', fn = 'refresh',
    desc = 'hotmod: rescan the workspace for modules and re-import them' },
  { name = 'HotmodDevMode', fn = 'dev_mode', complete = switch,
    desc = 'hotmod: toggle dev mode (slow-load warnings), or set it with on/off' },
  { name = 'HotmodPerf', fn = 'perf',
    desc = 'hotmod: performance summary (slowest modules, reloads)' },
  { name = 'HotmodMemory', fn = 'memory',
    desc = 'hotmod: memory used by each module' },
  { name = 'HotmodProfile', fn = 'profile', complete = modules,
    desc = 'hotmod: profile one import of a module (default: the current file): hottest lines, imports' },
  { name = 'HotmodStatus', fn = 'status',
    desc = 'hotmod: server and worker status' },
  { name = 'HotmodLive', fn = 'live',
    desc = 'hotmod: the running programs that take verified changes (live reload)' },
  { name = 'HotmodLiveApply', fn = 'live_apply', complete = rerun,
    desc = 'hotmod: apply the verified modules to the running programs now (rerun: re-run changed top-level code)' },
  { name = 'HotmodLiveRestart', fn = 'live_restart', complete = pids,
    desc = 'hotmod: restart a program that hotmod run started' },
  { name = 'HotmodTrust', fn = 'trust',
    desc = 'hotmod: trust the current workspace (run its code) and restart' },
  { name = 'HotmodUntrust', fn = 'untrust',
    desc = 'hotmod: stop trusting the current workspace and restart' },
}

for _, c in ipairs(commands) do
  vim.api.nvim_create_user_command(c.name, function(args)
    require('hotmod.commands')[c.fn](args.fargs[1])
  end, { nargs = c.complete and '?' or 0, complete = c.complete, desc = c.desc })
end

-- Code lenses, in every buffer the hotmod client attaches to.
vim.api.nvim_create_autocmd('LspAttach', {
  group = vim.api.nvim_create_augroup('hotmod', { clear = true }),
  callback = function(ev)
    local client = vim.lsp.get_client_by_id(ev.data.client_id)
    if client and client.name == 'hotmod' then
      require('hotmod.lsp').start_lenses(ev.buf, client.id)
    end
  end,
})
