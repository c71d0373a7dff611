--- The :Hotmod* commands: `workspace/executeCommand` on the hotmod client,
--- results shown as the server rendered them (their `markdown`, in ui.lua),
--- server errors via vim.notify.
local M = {}

--- The hotmod client of `bufnr`, else any hotmod client.
--- @param bufnr? integer
--- @return vim.lsp.Client?
function M.client(bufnr)
  local clients = vim.lsp.get_clients({ name = 'hotmod', bufnr = bufnr or 0 })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = 'hotmod' })
  end
  return clients[1]
end

--- @param path string
--- @param dir string
--- @return boolean
local function inside(path, dir)
  dir = dir:gsub('/+$', '')
  return path == dir or path:sub(1, #dir + 1) == dir .. '/'
end

--- The URI of `bufnr`'s file when it lies in one of the client's workspace
--- folders (it selects the folder in a multi-root workspace), else nil.
--- @param client vim.lsp.Client
--- @param bufnr integer
--- @return string?
function M.buffer_uri(client, bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' or vim.bo[bufnr].buftype ~= '' then
    return nil
  end
  local path = vim.fs.normalize(vim.fn.fnamemodify(name, ':p'))
  local real = vim.uv.fs_realpath(path) or path
  local folders = client.workspace_folders or {}
  if #folders == 0 and client.root_dir then
    folders = { { uri = vim.uri_from_fname(client.root_dir) } }
  end
  for _, folder in ipairs(folders) do
    local dir = vim.fs.normalize(vim.uri_to_fname(folder.uri))
    local realdir = vim.uv.fs_realpath(dir) or dir
    if inside(path, dir) or inside(real, realdir) then
      return vim.uri_from_fname(path)
    end
  end
  return nil
end

--- @param message string
--- @param level? integer
local function notify(message, level)
  vim.notify(message, level or vim.log.levels.INFO, { title = 'hotmod' })
end

--- Run `command` with `argument` on the hotmod client; `on_result(result)`
--- on success. Server errors are reported with vim.notify (ERROR).
--- @param command string
--- @param argument table? one object argument (nil: none)
--- @param on_result fun(result: any, client: vim.lsp.Client)
--- @param opts? {bufnr?: integer}
--- @return boolean started
function M.execute(command, argument, on_result, opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  if not client then
    notify(
      'hotmod: no hotmod language server is running (open a Python file of a workspace; see :checkhealth hotmod)',
      vim.log.levels.ERROR
    )
    return false
  end
  local arguments = {} -- encoded as []
  if argument ~= nil then
    arguments = { next(argument) and argument or vim.empty_dict() }
  end
  local params = { command = command, arguments = arguments }
  local ok = client:request('workspace/executeCommand', params, function(err, result)
    if err then
      notify(('hotmod: %s'):format(err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    on_result(result, client)
  end, bufnr)
  if not ok then
    notify('hotmod: the language server is not running', vim.log.levels.ERROR)
  end
  return ok and true or false
end

--- { uri = current buffer } when it belongs to the workspace, else {}.
--- @return table
local function scope()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  local uri = client and M.buffer_uri(client, bufnr)
  return uri and { uri = uri } or {}
end

--- What :HotmodReload / :HotmodProfile are about: the named module, else the
--- current buffer's file; nil, after an error naming `ex_command`, when that
--- buffer is not a file of the workspace. Without a client it is `{}`, so
--- that M.execute reports the missing server.
--- @param module? string
--- @param ex_command string
--- @return table?
local function module_target(module, ex_command)
  if module and module ~= '' then
    return { module = module }
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  local uri = client and M.buffer_uri(client, bufnr)
  if client and not uri then
    local message = 'hotmod: the current buffer is not a file of the workspace; use :%s {module}'
    notify(message:format(ex_command), vim.log.levels.ERROR)
    return nil
  end
  return { uri = uri }
end

--- The lines of a result's report: the server renders every command's
--- result as Markdown (its `markdown` field, docs/commands.md).
--- @param result any
--- @return string[]
function M.report_lines(result)
  local markdown = type(result) == 'table' and result.markdown or nil
  if type(markdown) ~= 'string' then
    return { '# hotmod', '', 'The server sent no report (is it older than this plugin?)' }
  end
  return vim.split((markdown:gsub('\n$', '')), '\n', { plain = true })
end

--- Run `command` and show the report of its result in a float.
--- @param command string
--- @param argument table
--- @param title string
local function show(command, argument, title)
  M.execute(command, argument, function(result)
    require('hotmod.ui').show(title, M.report_lines(result))
  end)
end

--- :HotmodReload [module]
--- @param module? string
function M.reload(module)
  local argument = module_target(module, 'HotmodReload')
  if argument then
    show('hotmod.reloadModule', argument, 'hotmod: reload')
  end
end

function M.reload_all()
  show('hotmod.reloadAll', scope(), 'hotmod: reload all')
end

function M.refresh()
  show('hotmod.refresh', scope(), 'hotmod: refresh')
end

--- :HotmodDevMode [on|off]
--- @param arg? string
function M.dev_mode(arg)
  local argument = scope()
  if arg == 'on' or arg == 'true' or arg == '1' then
    argument.enabled = true
  elseif arg == 'off' or arg == 'false' or arg == '0' then
    argument.enabled = false
  elseif arg and arg ~= '' and arg ~= 'toggle' then
    notify(("hotmod: :HotmodDevMode takes 'on', 'off' or nothing, got %q"):format(arg), vim.log.levels.ERROR)
    return
  end
  M.execute('hotmod.toggleDevMode', argument, function(result)
    M.last_dev_mode = result and result.dev_mode
    notify('hotmod: ' .. tostring(result and result.message or 'dev mode toggled'))
  end)
end

function M.perf()
  show('hotmod.performanceSummary', scope(), 'hotmod: performance')
end

function M.memory()
  show('hotmod.memoryReport', scope(), 'hotmod: memory')
end

--- :HotmodProfile [module]: profile one import of a module (default: the
--- current buffer's file). The server writes an HTML report and asks Neovim
--- to open it (window/showDocument, i.e. |vim.ui.open()|); the summary is
--- shown here.
--- @param module? string
--- @param opts? {open?: boolean}
function M.profile(module, opts)
  opts = opts or {}
  local argument = module_target(module, 'HotmodProfile')
  if not argument then
    return
  end
  if opts.open ~= nil then
    argument.open = opts.open
  end
  show('hotmod.profileModule', argument, 'hotmod: profile')
end

function M.status()
  show('hotmod.status', scope(), 'hotmod: status')
end

--- :HotmodLive: the running programs that take the workspace's changes.
function M.live()
  show('hotmod.liveProcesses', scope(), 'hotmod: live')
end

--- :HotmodLiveApply [rerun]: apply the verified state of every module the
--- running programs have loaded, now; `rerun` re-runs a module whose
--- top-level code changed instead of refusing it.
--- @param arg? string
function M.live_apply(arg)
  local argument = scope()
  if arg == 'rerun' then
    argument.rerun = true
  elseif arg and arg ~= '' then
    notify(("hotmod: :HotmodLiveApply takes 'rerun' or nothing, got %q"):format(arg), vim.log.levels.ERROR)
    return
  end
  show('hotmod.liveApply', argument, 'hotmod: live apply')
end

--- Ask the `hotmod run` that started the program to restart it.
--- @param argument table
local function restart(argument)
  M.execute('hotmod.liveRestart', argument, function(result)
    M.last_restart = result
    notify('hotmod: ' .. tostring(result and result.message or 'restart asked for'))
  end)
end

--- :HotmodLiveRestart [pid]: restart a program that `hotmod run` started;
--- without {pid}, the only one, or the one picked with |vim.ui.select()|.
--- @param arg? string
function M.live_restart(arg)
  local argument = scope()
  if arg and arg ~= '' then
    local pid = tonumber(arg)
    if not pid then
      notify(('hotmod: :HotmodLiveRestart takes a process id, got %q'):format(arg), vim.log.levels.ERROR)
      return
    end
    argument.pid = pid
    restart(argument)
    return
  end
  M.execute('hotmod.liveProcesses', scope(), function(result)
    local choices = vim.tbl_filter(function(p)
      return type(p) == 'table' and p.restartable == true
    end, type(result) == 'table' and result.processes or {})
    if #choices < 2 then
      restart(argument) -- the server restarts the only one, or says why not
      return
    end
    vim.ui.select(choices, {
      prompt = 'hotmod: restart which process?',
      kind = 'hotmod.restart',
      format_item = function(p)
        return ('pid %d  %s'):format(p.pid, p.command)
      end,
    }, function(choice)
      if choice then
        argument.pid = choice.pid
        restart(argument)
      end
    end)
  end)
end

--- Process ids for :HotmodLiveRestart completion: the programs that hotmod
--- run started, as the server last listed them (best effort, synchronous).
--- @return string[]
function M.complete_pids()
  local client = M.client(0)
  if not client then
    return {}
  end
  local answer = client:request_sync(
    'workspace/executeCommand',
    { command = 'hotmod.liveProcesses', arguments = { scope() } },
    1000,
    0
  )
  local pids = {}
  for _, p in ipairs(answer and answer.result and answer.result.processes or {}) do
    if p.restartable then
      table.insert(pids, tostring(p.pid))
    end
  end
  return pids
end

--- Code lenses name the server's commands (`hotmod.reloadModule` with
--- `{module = ...}`): run them here so that the result is shown, as for
--- :HotmodReload (Neovim would send them itself and drop the result).
--- @param command lsp.Command
function M.run_lens(command)
  local argument = (command.arguments or {})[1]
  local titles = {
    ['hotmod.reloadModule'] = 'hotmod: reload',
    ['hotmod.profileModule'] = 'hotmod: profile',
    ['hotmod.liveProcesses'] = 'hotmod: live',
  }
  show(command.command, type(argument) == 'table' and argument or {}, titles[command.command] or 'hotmod')
end

--- Remember `trusted` for the current buffer's workspace and restart its
--- server.
--- @param trusted boolean
function M.set_trust(trusted)
  local trust = require('hotmod.trust')
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  local root = client and client.root_dir
  if not root then
    root = vim.fs.root(bufnr, require('hotmod.lsp').root_markers())
  end
  if not root then
    notify('hotmod: no workspace root found for the current buffer', vim.log.levels.ERROR)
    return
  end
  trust.set(root, trusted)
  notify(
    ('hotmod: %s %s'):format(trusted and 'trusted' or 'no longer trusting', trust.normalize(root))
  )
  if trust.decide(root) ~= trusted then
    notify(
      "hotmod: note: setup({trust = ...}) or g:hotmod_trusted_roots overrides this answer",
      vim.log.levels.WARN
    )
  end
  if client then
    require('hotmod.lsp').restart(root)
  end
end

--- :HotmodTrust
function M.trust()
  M.set_trust(true)
end

--- :HotmodUntrust
function M.untrust()
  M.set_trust(false)
end

--- Module names for :HotmodReload completion: the project's .py files
--- under the workspace root, as dotted names (best effort).
--- @param arglead string
--- @return string[]
function M.complete_modules(arglead)
  local client = M.client(0)
  local root = client and client.root_dir
  if not root then
    return {}
  end
  local names = {}
  local bases = { root }
  if vim.uv.fs_stat(vim.fs.joinpath(root, 'src')) then
    bases = { vim.fs.joinpath(root, 'src') }
  end
  for _, base in ipairs(bases) do
    for name, kind in vim.fs.dir(base, {
      depth = 6,
      skip = function(dir)
        local leaf = vim.fs.basename(dir)
        return not (leaf:match('^[.]') or leaf == '__pycache__' or leaf:match('venv') or leaf == 'build')
      end,
    }) do
      if kind == 'file' and name:match('%.py$') then
        local mod = name:gsub('%.py$', ''):gsub('/__init__$', ''):gsub('/', '.')
        if mod ~= '__init__' and mod:sub(1, #arglead) == arglead then
          table.insert(names, mod)
        end
      end
    end
  end
  table.sort(names)
  return names
end

return M
