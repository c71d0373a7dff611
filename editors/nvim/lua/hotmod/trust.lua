--- Workspace trust: hotmod imports the workspace's modules, i.e. runs its
--- code, so each workspace root is trusted explicitly once, like |vim.secure|.
--- Answers are kept in stdpath('state')/hotmod/trust.json.
local M = {}

--- @return string
function M.store_path()
  return vim.fs.joinpath(vim.fn.stdpath('state'), 'hotmod', 'trust.json')
end

--- A canonical form of a directory path (symlinks resolved).
--- @param path string
--- @return string
function M.normalize(path)
  path = vim.fs.normalize(vim.fn.fnamemodify(path, ':p'))
  path = vim.uv.fs_realpath(path) or path
  if #path > 1 then
    path = path:gsub('/+$', '')
  end
  return path
end

--- @return table<string, boolean>
function M.read()
  local fd = io.open(M.store_path(), 'r')
  if not fd then
    return {}
  end
  local text = fd:read('*a')
  fd:close()
  local ok, data = pcall(vim.json.decode, text)
  if not ok or type(data) ~= 'table' then
    return {}
  end
  local roots = {}
  for root, value in pairs(data.roots or {}) do
    if type(value) == 'boolean' then
      roots[root] = value
    end
  end
  return roots
end

--- @param roots table<string, boolean>
local function write(roots)
  local path = M.store_path()
  vim.fn.mkdir(vim.fs.dirname(path), 'p')
  local tmp = path .. '.tmp'
  local fd = assert(io.open(tmp, 'w'))
  fd:write(vim.json.encode({ version = 1, roots = next(roots) and roots or vim.empty_dict() }))
  fd:close()
  assert(vim.uv.fs_rename(tmp, path))
end

--- Remember (true/false) or forget (nil) the answer for `root`.
--- @param root string
--- @param value boolean?
function M.set(root, value)
  local roots = M.read()
  roots[M.normalize(root)] = value
  write(roots)
end

--- The remembered answer for `root`: true, false or nil (never asked).
--- @param root string
--- @return boolean?
function M.get(root)
  return M.read()[M.normalize(root)]
end

--- Roots trusted without asking: `vim.g.hotmod_trusted_roots`.
--- @param root string
--- @return boolean
local function preapproved(root)
  local roots = vim.g.hotmod_trusted_roots
  if type(roots) == 'string' then
    roots = { roots }
  end
  if type(roots) ~= 'table' then
    return false
  end
  local wanted = M.normalize(root)
  for _, r in ipairs(roots) do
    if M.normalize(r) == wanted then
      return true
    end
  end
  return false
end

--- Is `root` trusted? nil when the user has to be asked.
--- @param root string
--- @return boolean?
function M.decide(root)
  local policy = require('hotmod').options.trust
  if policy == true then
    return true
  end
  if preapproved(root) then
    return true
  end
  if policy == false then
    return false
  end
  return M.get(root)
end

--- @param root string
--- @return boolean
function M.is_trusted(root)
  return root ~= nil and M.decide(root) == true
end

--- Callbacks waiting for an answer, per root: one prompt per root at a time.
--- @type table<string, fun(trusted: boolean)[]>
local pending = {}

M.choices = {
  'Trust this workspace (run its code)',
  'Do not trust (syntax checks only)',
}

--- Decide about `root`, asking the user (once) when nothing is known, then
--- call `callback(trusted)`.
--- @param root string
--- @param callback fun(trusted: boolean)
function M.resolve(root, callback)
  local known = M.decide(root)
  if known ~= nil then
    callback(known)
    return
  end
  local key = M.normalize(root)
  if pending[key] then
    table.insert(pending[key], callback)
    return
  end
  pending[key] = { callback }
  vim.schedule(function()
    vim.ui.select(M.choices, {
      prompt = ('hotmod imports the modules of %s, running their code. Trust this workspace?'):format(
        key
      ),
      kind = 'hotmod.trust',
    }, function(_, idx)
      local trusted = idx == 1
      if idx ~= nil then -- cancelled: ask again next time
        M.set(key, trusted)
      end
      local waiting = pending[key] or {}
      pending[key] = nil
      for _, cb in ipairs(waiting) do
        cb(trusted)
      end
    end)
  end)
end

return M
