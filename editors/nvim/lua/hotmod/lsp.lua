--- The LSP side: the default config (returned by lsp/hotmod.lua), its
--- root/trust decision, handlers for `hotmod/status` and
--- `workspace/codeLens/refresh`, and restarts.
local M = {}

-- pyproject.toml and setup.py have equal priority; .git is the fallback.
M.root_markers = { { 'pyproject.toml', 'setup.py' }, '.git' }

--- Lenses are refreshed when the server asks; until a server has asked once,
--- the `idle` status triggers the refresh instead.
--- @type table<integer, boolean>
local server_refreshes = {}

--- Newer Neovims manage lenses themselves once enabled per buffer
--- (`vim.lsp.codelens.enable()`, refresh requests included); the build
--- this plugin is tested with (0.12-dev) only has `refresh()`.
--- @return boolean
function M.native_codelens()
  return type(vim.lsp.codelens.enable) == 'function'
end

--- Start showing lenses in `bufnr` (on attach).
--- @param bufnr integer
--- @param client_id integer
function M.start_lenses(bufnr, client_id)
  if require('hotmod').options.codelens == false then
    return
  end
  if M.native_codelens() then
    pcall(vim.lsp.codelens.enable, true, { bufnr = bufnr, client_id = client_id })
  else
    vim.lsp.codelens.refresh({ bufnr = bufnr })
  end
end

--- Re-request the lenses of every loaded buffer the client is attached to.
--- @param client vim.lsp.Client
function M.refresh_lenses(client)
  if require('hotmod').options.codelens == false or M.native_codelens() then
    return
  end
  for bufnr in pairs(client.attached_buffers or {}) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      vim.lsp.codelens.refresh({ bufnr = bufnr })
    end
  end
end

--- root_dir(): the nearest root marker; the server starts only once the
--- workspace's trust is decided (asking the user if need be).
--- @param bufnr integer
--- @param on_dir fun(root_dir?: string)
function M.root_dir(bufnr, on_dir)
  local config = vim.lsp.config.hotmod or {}
  local markers = config.root_markers or M.root_markers
  local root = vim.fs.root(bufnr, markers)
  if not root then
    return -- hotmod needs a workspace: no single-file mode
  end
  require('hotmod.trust').resolve(root, function()
    on_dir(root)
  end)
end

--- Sends `trusted` with the settings in initializationOptions, and
--- `hotmodClient`: this plugin shows command results itself, so the server
--- does not open report documents of its own (docs/commands.md).
--- @param params lsp.InitializeParams
--- @param config vim.lsp.ClientConfig
function M.before_init(params, config)
  local trust = require('hotmod.trust')
  local options = params.initializationOptions
  if type(options) ~= 'table' or (vim.islist(options) and #options == 0) then
    options = {}
  end
  options = vim.deepcopy(options)
  options.trusted = config.root_dir ~= nil and trust.is_trusted(config.root_dir)
  options.hotmodClient = 'nvim'
  params.initializationOptions = options
end

--- When the root was set without our root_dir() (a user's own root_dir
--- string), nobody has asked yet: ask now and restart if trusted.
--- @param client vim.lsp.Client
function M.on_init(client)
  local root = client.root_dir
  local trust = require('hotmod.trust')
  if root and trust.decide(root) == nil then
    trust.resolve(root, function(trusted)
      if trusted then
        M.restart(root)
      end
    end)
  end
end

--- @param client_id integer
function M.on_exit(_, _, client_id)
  require('hotmod')._status[client_id] = nil
  server_refreshes[client_id] = nil
  vim.schedule(function()
    pcall(vim.cmd, 'redrawstatus!')
  end)
end

--- `hotmod/status` notification.
--- @param result {state: string, modules: integer, broken: integer, message: string}
--- @param ctx lsp.HandlerContext
function M.on_status(_, result, ctx)
  if type(result) ~= 'table' then
    return
  end
  local hotmod = require('hotmod')
  hotmod._status[ctx.client_id] = result
  pcall(vim.api.nvim_exec_autocmds, 'User', {
    pattern = 'HotmodStatus',
    modeline = false,
    data = vim.tbl_extend('force', { client_id = ctx.client_id }, result),
  })
  pcall(vim.cmd, 'redrawstatus!')
  if result.state == 'idle' and not server_refreshes[ctx.client_id] then
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    if client then
      M.refresh_lenses(client)
    end
  end
end

--- `workspace/codeLens/refresh` request: re-request the lenses of every
--- loaded buffer the client is attached to.
--- @param ctx lsp.HandlerContext
function M.on_codelens_refresh(err, result, ctx)
  server_refreshes[ctx.client_id] = true
  local native = vim.lsp.handlers['workspace/codeLens/refresh']
  if M.native_codelens() and native then
    return native(err, result, ctx)
  end
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if client then
    M.refresh_lenses(client)
  end
  return vim.NIL
end

--- Stop the hotmod clients of `root` (all if nil) and start them again for
--- their buffers, e.g. after the workspace's trust changed.
--- @param root? string
function M.restart(root)
  local trust = require('hotmod.trust')
  local wanted = root and trust.normalize(root)
  local stopping = {}
  for _, client in ipairs(vim.lsp.get_clients({ name = 'hotmod' })) do
    if not wanted or (client.root_dir and trust.normalize(client.root_dir) == wanted) then
      client:stop()
      table.insert(stopping, client)
    end
  end
  local deadline = vim.uv.now() + 5000
  local timer = assert(vim.uv.new_timer())
  timer:start(
    50,
    50,
    vim.schedule_wrap(function()
      local done = vim.iter(stopping):all(function(c)
        return c:is_stopped()
      end)
      if not done and vim.uv.now() < deadline then
        return
      end
      if not done then
        for _, c in ipairs(stopping) do
          c:stop(true)
        end
      end
      timer:stop()
      timer:close()
      if vim.lsp.is_enabled('hotmod') then
        vim.cmd.doautoall({ args = { 'nvim.lsp.enable', 'FileType' }, mods = { silent = true } })
      end
    end)
  )
end

--- `settings` for the client: answered for `workspace/configuration`
--- section "hotmod". Without settings none are declared, so that Neovim
--- sends no `workspace/didChangeConfiguration` after `initialized` (the
--- server re-checks on it) and no `[]` for an empty table.
--- @param settings table
--- @return table
function M.client_settings(settings)
  if not next(settings) then
    return {}
  end
  return { hotmod = vim.deepcopy(settings) }
end

--- The config `lsp/hotmod.lua` returns.
--- @return vim.lsp.Config
function M.default_config()
  local options = require('hotmod').options
  local settings = options.settings or {}
  return {
    cmd = options.cmd or { 'hotmod', 'serve' },
    filetypes = { 'python' },
    root_markers = M.root_markers,
    root_dir = M.root_dir,
    workspace_required = true,
    init_options = vim.deepcopy(settings),
    settings = M.client_settings(settings),
    capabilities = {
      workspace = { codeLens = { refreshSupport = true } },
    },
    handlers = {
      ['hotmod/status'] = M.on_status,
      ['workspace/codeLens/refresh'] = M.on_codelens_refresh,
    },
    -- the commands of the server's code lenses, run so that the result shows
    commands = {
      ['hotmod.reloadModule'] = function(command)
        require('hotmod.commands').run_lens(command)
      end,
      ['hotmod.profileModule'] = function(command)
        require('hotmod.commands').run_lens(command)
      end,
    },
    before_init = M.before_init,
    on_init = M.on_init,
    on_exit = M.on_exit,
  }
end

return M
