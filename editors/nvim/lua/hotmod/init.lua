--- hotmod for Neovim: configure and enable the hotmod language server, keep
--- its status for statuslines. See `:help hotmod`.
local M = {}

--- @class hotmod.Options
--- @field cmd? string[]            server command (default: lsp/hotmod.lua's `{ 'hotmod', 'serve' }`)
--- @field settings? table          server settings (docs/commands.md), camelCase keys
--- @field trust? boolean|'ask'     true: trust every workspace, false: trust none, 'ask' (default)
--- @field codelens? boolean        refresh code lenses automatically (default true)
--- @field output? 'float'|'split'  where command results are shown (default 'float')
--- @field enable? boolean          call vim.lsp.enable('hotmod') (default true)

--- The plugin's own options; `cmd` and `settings` belong to the LSP config
--- (lsp/hotmod.lua), which setup() layers them onto.
--- @type hotmod.Options
M.defaults = {
  trust = 'ask',
  codelens = true,
  output = 'float',
  enable = true,
}

--- Options in force (defaults until setup() is called).
--- @type hotmod.Options
M.options = vim.deepcopy(M.defaults)

--- @param opts? hotmod.Options
function M.setup(opts)
  opts = opts or {}
  vim.validate('opts.cmd', opts.cmd, 'table', true)
  vim.validate('opts.settings', opts.settings, 'table', true)
  vim.validate('opts.codelens', opts.codelens, 'boolean', true)
  if opts.trust ~= nil and opts.trust ~= true and opts.trust ~= false and opts.trust ~= 'ask' then
    error("hotmod.setup: trust must be true, false or 'ask', got " .. vim.inspect(opts.trust))
  end
  if opts.output ~= nil and opts.output ~= 'float' and opts.output ~= 'split' then
    error("hotmod.setup: output must be 'float' or 'split', got " .. vim.inspect(opts.output))
  end
  M.options = vim.tbl_extend('force', M.defaults, opts)
  M.options.cmd, M.options.settings = nil, nil -- the LSP config's, below

  local config = { cmd = opts.cmd }
  -- An empty `settings` would still make Neovim send didChangeConfiguration
  -- after `initialized` (the server re-checks on it).
  if opts.settings and next(opts.settings) then
    config.settings = { hotmod = vim.deepcopy(opts.settings) }
  end
  if next(config) then
    vim.lsp.config('hotmod', config)
  end
  if M.options.enable ~= false then
    vim.lsp.enable('hotmod')
  end
end

-- -- status ----------------------------------------------------------------

--- Last `hotmod/status` notification per client id.
--- @type table<integer, {state: string, modules: integer, broken: integer, live: integer?, message: string}>
M._status = {}

--- The raw status of the hotmod client for `bufnr` (or any hotmod client).
--- @param bufnr? integer
--- @return {state: string, modules: integer, broken: integer, live: integer?, message: string}?, vim.lsp.Client?
function M.status(bufnr)
  local clients = vim.lsp.get_clients({ name = 'hotmod', bufnr = bufnr or 0 })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = 'hotmod' })
  end
  for _, client in ipairs(clients) do
    if M._status[client.id] then
      return M._status[client.id], client
    end
  end
  return nil, clients[1]
end

--- A short status string for statuslines, '' when no hotmod server runs.
--- @param bufnr? integer
--- @return string
function M.statusline(bufnr)
  local status, client = M.status(bufnr)
  if not status then
    return client and 'hotmod: starting' or ''
  end
  local state = status.state
  -- running programs that take the changes (live reload)
  local live = type(status.live) == 'number' and status.live > 0 and (' · live %d'):format(status.live) or ''
  if state == 'checking' then
    return 'hotmod: checking'
  elseif state == 'idle' then
    if (status.broken or 0) > 0 then
      return ('hotmod: %d/%d broken%s'):format(status.broken, status.modules or 0, live)
    end
    return ('hotmod: %d ok%s'):format(status.modules or 0, live)
  elseif state == 'untrusted' then
    return 'hotmod: untrusted'
  elseif state == 'error' then
    return 'hotmod: error'
  end
  return 'hotmod: ' .. tostring(state)
end

return M
