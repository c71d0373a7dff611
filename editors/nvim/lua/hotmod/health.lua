--- :checkhealth hotmod
local M = {}

local health = vim.health

--- @param cmd string[]
--- @return string? output, string? error
local function run(cmd)
  local ok, proc = pcall(vim.system, cmd, { text = true })
  if not ok then
    return nil, tostring(proc)
  end
  local done = proc:wait(10000)
  if done.code ~= 0 then
    local err = vim.trim((done.stderr or '') .. (done.stdout or ''))
    return nil, ('exit %s: %s'):format(tostring(done.code), err)
  end
  return vim.trim((done.stdout or '') .. (done.stderr or ''))
end

--- The Python interpreter that runs the server: the command itself when it
--- is a python, else the executable's shebang.
--- @param exe string
--- @return string?
local function interpreter(exe)
  if vim.fs.basename(exe):match('^python') then
    return exe
  end
  local fd = io.open(exe, 'rb')
  if not fd then
    return nil
  end
  local first = fd:read('*l') or ''
  fd:close()
  local shebang = first:match('^#!%s*(.-)%s*$')
  if not shebang then
    return nil
  end
  -- `#!/usr/bin/env python3` -> python3
  local env_target = shebang:match('^%S*/env%s+(%S+)')
  if env_target then
    local found = vim.fn.exepath(env_target)
    return found ~= '' and found or env_target
  end
  return (shebang:match('^(%S+)'))
end

function M.check()
  health.start('hotmod: Neovim')
  local v = vim.version()
  local version = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if v.prerelease then
    version = version .. '-' .. tostring(v.prerelease)
  end
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. version)
  else
    health.error('Neovim ' .. version .. ': hotmod needs 0.11 or newer (vim.lsp.config)')
  end

  health.start('hotmod: server')
  local ok_cfg, config = pcall(function()
    return vim.lsp.config.hotmod
  end)
  if not ok_cfg or not config then
    health.error('no `hotmod` LSP config: is editors/nvim on the runtimepath?', tostring(config))
    return
  end
  local cmd = config.cmd
  if type(cmd) == 'function' then
    health.info('cmd is a function (e.g. vim.lsp.rpc.connect): not checked')
  elseif type(cmd) ~= 'table' or not cmd[1] then
    health.error('cmd is not set', "setup({ cmd = { 'hotmod', 'serve' } })")
  else
    health.info('cmd: ' .. table.concat(cmd, ' '))
    local exe = vim.fn.exepath(cmd[1])
    if exe == '' then
      health.error(
        ('server executable %q not found'):format(cmd[1]),
        {
          'install hotmod: pip install hotmod (into a venv whose bin/ is on $PATH)',
          "or point at it: require('hotmod').setup({ cmd = { '/path/to/venv/bin/hotmod', 'serve' } })",
        }
      )
    else
      health.ok('server executable: ' .. exe)
      -- `hotmod serve ...` -> `hotmod --version`; `python -m mod serve` -> `python -m mod --version`
      local vcmd = { exe }
      for i = 2, #cmd do
        if cmd[i] == 'serve' then
          break
        end
        table.insert(vcmd, cmd[i])
      end
      table.insert(vcmd, '--version')
      local out, err = run(vcmd)
      if out then
        health.ok(('%s: %s'):format(table.concat(vcmd, ' '), out))
      else
        health.error(('%s failed: %s'):format(table.concat(vcmd, ' '), err or '?'))
      end
      local python = interpreter(exe)
      if python then
        local pout, perr = run({ python, '--version' })
        if pout then
          health.ok(('interpreter: %s (%s)'):format(python, pout))
        else
          health.warn(('interpreter %s: %s'):format(python, perr or '?'))
        end
      else
        health.info('interpreter: unknown (no shebang in ' .. exe .. ')')
      end
    end
  end

  if vim.lsp.is_enabled('hotmod') then
    health.ok('enabled (vim.lsp.enable)')
  else
    health.warn(
      'not enabled',
      "call require('hotmod').setup() or vim.lsp.enable('hotmod')"
    )
  end

  health.start('hotmod: trust')
  local trust = require('hotmod.trust')
  local policy = require('hotmod').options.trust
  health.info('policy: ' .. tostring(policy))
  health.info('answers stored in ' .. trust.store_path())
  local roots = vim.g.hotmod_trusted_roots
  if roots ~= nil then
    health.info('g:hotmod_trusted_roots: ' .. vim.inspect(roots))
  end
  local root = vim.fs.root(0, require('hotmod.lsp').root_markers())
  if root then
    local decided = trust.decide(root)
    local what = decided == true and 'trusted'
      or decided == false and 'not trusted (syntax checks only)'
      or 'not decided yet (you will be asked)'
    health.info(('workspace of the current buffer: %s: %s'):format(root, what))
  end

  health.start('hotmod: running servers')
  local clients = vim.lsp.get_clients({ name = 'hotmod' })
  if #clients == 0 then
    health.info('none (open a Python file of a workspace)')
  end
  for _, client in ipairs(clients) do
    local status = require('hotmod')._status[client.id]
    health.ok(
      ('client %d, root %s: %s'):format(
        client.id,
        client.root_dir or '?',
        status and (status.state .. ': ' .. (status.message or '')) or 'no status yet'
      )
    )
  end
end

return M
