--- The hooks of the config in lsp/hotmod.lua: the root/trust decision,
--- initializationOptions, handlers for `hotmod/status` and
--- `workspace/codeLens/refresh`, code lenses on attach, and restarts.
local M = {}

--- The root markers in force (lsp/hotmod.lua's, or the user's).
--- @return (string|string[])[]
function M.root_markers()
  local config = vim.lsp.config.hotmod
  return config and config.root_markers or {}
end

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

--- Start showing lenses in `bufnr` (on attach): request them now and, on
--- Neovims without `vim.lsp.codelens.enable()`, when the buffer is entered
--- again; the server asks for a refresh after each check.
--- @param bufnr integer
--- @param client_id integer
function M.start_lenses(bufnr, client_id)
  if require('hotmod').options.codelens == false then
    return
  end
  if M.native_codelens() then
    pcall(vim.lsp.codelens.enable, true, { bufnr = bufnr, client_id = client_id })
    return
  end
  vim.lsp.codelens.refresh({ bufnr = bufnr })
  vim.api.nvim_create_autocmd('BufEnter', {
    group = vim.api.nvim_create_augroup('hotmod.codelens.' .. bufnr, { clear = true }),
    buffer = bufnr,
    callback = function(e)
      if #vim.lsp.get_clients({ name = 'hotmod', bufnr = e.buf }) > 0 then
        vim.lsp.codelens.refresh({ bufnr = e.buf })
      end
    end,
  })
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
  local root = vim.fs.root(bufnr, M.root_markers())
  if not root then
    return -- hotmod needs a workspace: no single-file mode
  end
  require('hotmod.trust').resolve(root, function()
    on_dir(root)
  end)
end

--- initializationOptions: `init_options`, the server settings
--- (`settings.hotmod`, declared once for both), `trusted`, and
--- `hotmodClient`: this plugin shows command results itself, so the server
--- does not open report documents of its own (docs/commands.md).
--- @param params lsp.InitializeParams
--- @param config vim.lsp.ClientConfig
function M.before_init(params, config)
  local trust = require('hotmod.trust')
  local options = {}
  for _, layer in ipairs({ params.initializationOptions, vim.tbl_get(config, 'settings', 'hotmod') }) do
    if type(layer) == 'table' and not vim.islist(layer) then
      options = vim.tbl_deep_extend('force', options, layer)
    end
  end
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
--- @param result {state: string, modules: integer, broken: integer, live: integer?, message: string}
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

return M
