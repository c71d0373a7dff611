-- A tiny harness for the Lua test bodies: steps with bounded waits, data
-- collected into a JSON file that pytest reads, and a hard timeout so a run
-- never hangs.
local H = {}

H.data = {} -- free-form observations, asserted on by pytest
H.steps = {} -- { name, ok, ms, detail }
H.notifications = {} -- every vim.notify call: { msg, level }
H.errors = {}

local t_start = vim.uv.hrtime()
local written = false
-- read now: vim.env is not usable from the timeout's fast (luv) callback
local results_path = assert(os.getenv('HOTMOD_RESULTS'), 'HOTMOD_RESULTS not set')

--- @return number ms since start
function H.now()
  return (vim.uv.hrtime() - t_start) / 1e6
end

local function write_results(extra)
  if written then
    return
  end
  written = true
  local payload = {
    data = H.data,
    steps = H.steps,
    notifications = H.notifications,
    errors = H.errors,
    elapsed_ms = H.now(),
  }
  for k, v in pairs(extra or {}) do
    payload[k] = v
  end
  local ok, text = pcall(vim.json.encode, payload)
  if not ok then
    text = vim.json.encode({ errors = { 'could not encode results: ' .. tostring(text) } })
  end
  local fd = assert(io.open(results_path, 'w'))
  fd:write(text)
  fd:close()
end

--- Record a step; failures do not stop the body (pytest judges), unless
--- `fatal` is set.
--- @param name string
--- @param ok boolean
--- @param detail any
function H.step(name, ok, detail)
  table.insert(H.steps, { name = name, ok = ok and true or false, ms = H.now(), detail = detail })
end

--- Wait up to `timeout` ms for `cond()`; records a step named `name`.
--- @param name string
--- @param timeout integer
--- @param cond fun(): any
--- @return boolean
function H.wait(name, timeout, cond)
  local t0 = H.now()
  local ok = vim.wait(timeout, function()
    local good, value = pcall(cond)
    return good and value and true or false
  end, 20)
  table.insert(H.steps, { name = name, ok = ok, ms = H.now(), waited_ms = H.now() - t0 })
  return ok
end

--- Run Ex command `cmd` and wait up to `timeout` ms for it to report an
--- error; records a step named `name`. The notifications are cleared first,
--- so that an earlier error cannot pass for this one.
--- @param name string
--- @param timeout integer
--- @param cmd string
--- @return table[] the notifications `cmd` made
function H.expect_error(name, timeout, cmd)
  H.notifications = {}
  vim.cmd(cmd)
  H.wait(name, timeout, function()
    for _, n in ipairs(H.notifications) do
      if n.level == vim.log.levels.ERROR then
        return true
      end
    end
  end)
  return vim.deepcopy(H.notifications)
end

--- @param bufnr integer
--- @param code string
--- @return boolean
function H.has_code(bufnr, code)
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if d.code == code then
      return true
    end
  end
  return false
end

--- Diagnostics of `bufnr` as plain tables.
--- @param bufnr integer
--- @return table[]
function H.diagnostics(bufnr)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(out, {
      lnum = d.lnum,
      col = d.col,
      severity = d.severity,
      code = d.code,
      source = d.source,
      message = d.message,
    })
  end
  return out
end

--- Finish: write the results and quit Neovim.
function H.finish()
  write_results()
  vim.cmd('qall!')
end

--- Run a scenario file with the harness; any Lua error is recorded.
--- @param path string
function H.run(path)
  -- hard timeout: write what we have and exit, even from inside a vim.wait
  local timeout = tonumber(os.getenv('HOTMOD_TIMEOUT_MS') or '') or 60000
  local timer = assert(vim.uv.new_timer())
  timer:start(timeout, 0, function()
    pcall(write_results, { timed_out = true })
    os.exit(3)
  end)
  -- capture, do not echo: an ERROR echo inside a :command would abort the body
  vim.notify = function(msg, level)
    table.insert(H.notifications, { msg = tostring(msg), level = level or vim.log.levels.INFO })
  end
  local ok, err = xpcall(function()
    dofile(path)(H)
  end, debug.traceback)
  if not ok then
    table.insert(H.errors, tostring(err))
  end
  H.finish()
end

return H
