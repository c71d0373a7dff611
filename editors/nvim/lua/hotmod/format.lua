--- Command results -> markdown lines (pure functions, no editor state).
local M = {}

--- @param v any
--- @return boolean
local function present(v)
  return v ~= nil and v ~= vim.NIL
end

--- @param v any
--- @param decimals? integer
--- @return string
function M.ms(v, decimals)
  if type(v) ~= 'number' then
    return '-'
  end
  return ('%.' .. (decimals or 1) .. 'f ms'):format(v)
end

--- @param n any
--- @return string
function M.bytes(n)
  if type(n) ~= 'number' then
    return '-'
  end
  if n >= 1024 * 1024 then
    return ('%.1f MB'):format(n / (1024 * 1024))
  elseif n >= 1024 then
    return ('%.1f KB'):format(n / 1024)
  end
  return ('%d B'):format(n)
end

--- @param v any
--- @return string
local function text(v)
  if not present(v) then
    return '-'
  end
  if type(v) == 'boolean' then
    return v and 'yes' or 'no'
  end
  if type(v) == 'table' then
    return vim.json.encode(v)
  end
  return (tostring(v):gsub('\n', ' '))
end

--- An aligned markdown table.
--- @param headers string[]
--- @param rows string[][]
--- @param align? ('l'|'r')[] per column, default left
--- @return string[]
function M.table(headers, rows, align)
  align = align or {}
  local widths = {}
  for i, h in ipairs(headers) do
    widths[i] = math.max(3, vim.fn.strdisplaywidth(h))
  end
  for _, row in ipairs(rows) do
    for i = 1, #headers do
      row[i] = (row[i] or ''):gsub('|', '\\|')
      widths[i] = math.max(widths[i], vim.fn.strdisplaywidth(row[i]))
    end
  end
  local function pad(s, i)
    local gap = string.rep(' ', widths[i] - vim.fn.strdisplaywidth(s))
    return align[i] == 'r' and gap .. s or s .. gap
  end
  local function line(cells)
    local out = {}
    for i = 1, #headers do
      out[i] = pad(cells[i] or '', i)
    end
    return '| ' .. table.concat(out, ' | ') .. ' |'
  end
  local sep = {}
  for i = 1, #headers do
    local dashes = string.rep('-', widths[i])
    sep[i] = align[i] == 'r' and dashes:sub(2) .. ':' or dashes
  end
  local lines = { line(headers), '| ' .. table.concat(sep, ' | ') .. ' |' }
  for _, row in ipairs(rows) do
    table.insert(lines, line(row))
  end
  return lines
end

--- @param lines string[]
--- @param more string[]
local function extend(lines, more)
  vim.list_extend(lines, more)
end

--- A `## title` section holding M.table(headers, rows, align); with no rows
--- there is no section at all, not an empty heading.
--- @param lines string[]
--- @param title string
--- @param headers string[]
--- @param rows string[][]
--- @param align ('l'|'r')[]
local function section(lines, title, headers, rows, align)
  if #rows > 0 then
    extend(lines, { '', '## ' .. title, '' })
    extend(lines, M.table(headers, rows, align))
  end
end

--- `lines` with the server's free-form note (`r.message`), if any, at the end.
--- @param lines string[]
--- @param r table
--- @return string[] lines
local function with_message(lines, r)
  if present(r.message) and r.message ~= '' then
    extend(lines, { '', tostring(r.message) })
  end
  return lines
end

--- First diagnostic message of a module result, shortened.
--- @param module table
--- @return string
local function first_problem(module)
  local diags = present(module.diagnostics) and module.diagnostics or {}
  local d = diags[1]
  if not d then
    return ''
  end
  local msg = present(d.message) and tostring(d.message) or ''
  msg = msg:gsub('\n.*', '')
  if #msg > 70 then
    msg = msg:sub(1, 67) .. '...'
  end
  local code = present(d.code) and ('[' .. tostring(d.code) .. '] ') or ''
  -- `hotmod check --format json` lines are 1-based
  local line = type(d.line) == 'number' and ('L%d '):format(d.line) or ''
  return line .. code .. msg
end

--- Rows for Module results.
--- @param modules table[]
--- @return string[]
local function module_table(modules)
  local rows = {}
  for _, m in ipairs(modules) do
    table.insert(rows, {
      text(m.name),
      m.status == 'ok' and 'ok' or ('**' .. text(m.status) .. '**'),
      M.ms(m.load_ms),
      M.ms(m.self_ms),
      M.bytes(m.memory_bytes),
      first_problem(m),
    })
  end
  return M.table(
    { 'module', 'status', 'load', 'self', 'memory', 'problem' },
    rows,
    { 'l', 'l', 'r', 'r', 'r', 'l' }
  )
end

--- `hotmod.reloadModule`
--- @param r table
--- @return string[]
function M.reload_module(r)
  local lines = { '# Reload ' .. text(r.module), '' }
  if present(r.message) then
    extend(lines, { tostring(r.message), '' })
  end
  local modules = {}
  if present(r.result) then
    table.insert(modules, r.result)
  end
  for _, d in ipairs(present(r.dependents) and r.dependents or {}) do
    table.insert(modules, d)
  end
  if #modules > 0 then
    extend(lines, module_table(modules))
  end
  return lines
end

--- `hotmod.reloadAll` / `hotmod.refresh`
--- @param r table
--- @param title string
--- @return string[]
function M.report(r, title)
  local lines = {
    '# ' .. title,
    '',
    ('%s modules, %s failed, %s'):format(text(r.modules), text(r.failed), M.ms(r.duration_ms)),
  }
  if r.cancelled == true then
    table.insert(lines, '(cancelled by a newer check)')
  end
  local added = present(r.added) and r.added or {}
  local removed = present(r.removed) and r.removed or {}
  if #added > 0 then
    table.insert(lines, 'Added: ' .. table.concat(added, ', '))
  end
  if #removed > 0 then
    table.insert(lines, 'Removed: ' .. table.concat(removed, ', '))
  end
  local results = present(r.results) and r.results or {}
  if #results > 0 then
    -- failures first, then by name
    results = vim.deepcopy(results)
    table.sort(results, function(a, b)
      local fa, fb = a.status ~= 'ok', b.status ~= 'ok'
      if fa ~= fb then
        return fa
      end
      return text(a.name) < text(b.name)
    end)
    table.insert(lines, '')
    extend(lines, module_table(results))
  end
  return lines
end

--- `hotmod.performanceSummary`
--- @param r table
--- @return string[]
function M.performance(r)
  local lines = { '# hotmod performance', '' }
  extend(
    lines,
    M.table({ 'metric', 'value' }, {
      { 'scans', text(r.total_scans) },
      { 'average scan', M.ms(r.average_scan_ms, 2) },
      { 'module loads', text(r.total_loads) },
      { 'average load', M.ms(r.average_load_ms, 2) },
      { 'slow threshold', M.ms(r.slow_threshold_ms, 0) },
    }, { 'l', 'r' })
  )
  local slowest = vim.tbl_map(function(s)
    return { text(s.module), M.ms(s.load_ms), M.ms(s.self_ms) }
  end, present(r.slowest) and r.slowest or {})
  section(lines, 'Slowest modules', { 'module', 'load', 'self' }, slowest, { 'l', 'r', 'r' })

  local counts = present(r.reload_counts) and r.reload_counts or {}
  local names = vim.tbl_keys(counts)
  table.sort(names, function(a, b)
    if counts[a] ~= counts[b] then
      return counts[a] > counts[b]
    end
    return a < b
  end)
  local reloads = vim.tbl_map(function(name)
    return { name, text(counts[name]) }
  end, names)
  section(lines, 'Reloads', { 'module', 'reloads' }, reloads, { 'l', 'r' })

  local slow = vim.tbl_map(function(s)
    if type(s) == 'table' then
      return { text(s.module or s.name), M.ms(s.load_ms), M.ms(s.self_ms) }
    end
    return { text(s), '', '' }
  end, present(r.slow_loads) and r.slow_loads or {})
  section(lines, 'Slow loads', { 'module', 'load', 'self' }, slow, { 'l', 'r', 'r' })
  return with_message(lines, r)
end

--- `hotmod.memoryReport`
--- @param r table
--- @return string[]
function M.memory(r)
  local lines = {
    '# hotmod memory',
    '',
    ('Total %s across %s loaded modules'):format(M.bytes(r.total_bytes), text(r.loaded_modules)),
  }
  local modules = present(r.modules) and vim.deepcopy(r.modules) or {}
  if #modules > 0 then
    table.sort(modules, function(a, b)
      return (tonumber(a.bytes) or 0) > (tonumber(b.bytes) or 0)
    end)
    local rows = {}
    for _, m in ipairs(modules) do
      table.insert(rows, { text(m.module), M.bytes(m.bytes) })
    end
    table.insert(lines, '')
    extend(lines, M.table({ 'module', 'memory' }, rows, { 'l', 'r' }))
  end
  return with_message(lines, r)
end

--- `hotmod.profileModule`: hottest lines, the import tree, functions and
--- the HTML report's path.
--- @param r table
--- @return string[]
function M.profile(r)
  local failed = r.status == 'error'
  local lines = {
    '# Profile ' .. text(r.module),
    '',
    ('%s: %s, %s'):format(text(r.path), M.ms(r.total_ms), failed and '**error**' or 'ok'),
  }
  if present(r.error) then
    table.insert(lines, 'Error: ' .. text(r.error))
  end
  if present(r.html) then
    table.insert(lines, 'HTML report: ' .. text(r.html))
  end
  local total = type(r.total_ms) == 'number' and r.total_ms or nil
  local function share(v)
    if type(v) ~= 'number' or not total or total <= 0 then
      return '-'
    end
    return ('%.1f%%'):format(100 * v / total)
  end

  local hot = vim.tbl_map(function(l)
    local code = present(l.text) and tostring(l.text) or ''
    if #code > 60 then
      code = code:sub(1, 57) .. '...'
    end
    return {
      text(l.line),
      M.ms(l.self_ms),
      share(l.self_ms),
      text(l.hits),
      M.bytes(l.self_bytes),
      code,
    }
  end, present(r.lines) and r.lines or {})
  section(
    lines,
    'Hottest lines (own time, without imports)',
    { 'line', 'self', 'share', 'hits', 'memory', 'code' },
    hot,
    { 'r', 'r', 'r', 'r', 'r', 'l' }
  )

  local imports = {}
  local function walk(nodes, depth)
    for _, node in ipairs(present(nodes) and nodes or {}) do
      table.insert(imports, { node = node, depth = depth })
      walk(node.children, depth + 1)
    end
  end
  walk(r.imports, 0)
  local import_rows = vim.tbl_map(function(item)
    local node = item.node
    return {
      string.rep('  ', item.depth) .. text(node.name),
      M.ms(node.ms),
      M.ms(node.self_ms),
      M.bytes(node.bytes),
      type(node.line) == 'number' and ('L%d'):format(node.line) or '',
      present(node.error) and text(node.error) or '',
    }
  end, vim.list_slice(imports, 1, 40))
  section(
    lines,
    'Imports (cumulative / self)',
    { 'module', 'cumulative', 'self', 'memory', 'at', 'error' },
    import_rows,
    { 'l', 'r', 'r', 'r', 'r', 'l' }
  )
  if #imports > 40 then
    table.insert(lines, ('(%d more in the HTML report)'):format(#imports - 40))
  end

  local functions = vim.tbl_map(function(f)
    local where = present(f.path) and vim.fs.basename(tostring(f.path)) or ''
    if type(f.line) == 'number' then
      where = where .. ':' .. f.line
    end
    return { text(f.name), text(f.calls), M.ms(f.self_ms), M.ms(f.ms), where }
  end, vim.list_slice(present(r.functions) and r.functions or {}, 1, 10))
  section(
    lines,
    'Functions (by own time)',
    { 'function', 'calls', 'self', 'total', 'where' },
    functions,
    { 'l', 'r', 'r', 'r', 'l' }
  )
  return with_message(lines, r)
end

--- `hotmod.status`
--- @param r table
--- @return string[]
function M.status(r)
  local last = '-'
  if type(r.last_check_ms) == 'number' then
    last = M.ms(r.last_check_ms)
    local at = r.last_check_at
    if type(at) == 'number' and at > 1e9 then -- a Unix timestamp
      last = last .. ' at ' .. os.date('%H:%M:%S', math.floor(at))
    elseif present(at) then
      last = last .. ' at ' .. text(at)
    end
  end
  local python = text(r.python)
  if present(r.python_version) then
    python = python .. ' (' .. text(r.python_version) .. ')'
  end
  local lines = { '# hotmod status', '' }
  if present(r.error) then
    extend(lines, { '**This folder cannot be checked:** ' .. text(r.error), '' })
  end
  extend(
    lines,
    M.table({ 'key', 'value' }, {
      { 'version', text(r.version) },
      { 'trusted', text(r.trusted) },
      { 'root', text(r.root) },
      { 'python', python },
      { 'modules', text(r.module_count) },
      { 'broken', text(r.broken_count) },
      { 'worker pid', text(r.worker_pid) },
      { 'dev mode', text(r.dev_mode) },
      { 'last check', last },
    })
  )
  -- anything the contract does not list yet
  local known = {
    version = 1,
    trusted = 1,
    root = 1,
    python = 1,
    python_version = 1,
    module_count = 1,
    broken_count = 1,
    worker_pid = 1,
    dev_mode = 1,
    last_check_ms = 1,
    last_check_at = 1,
    error = 1,
  }
  local extra = {}
  for k, v in pairs(r) do
    if not known[k] then
      table.insert(extra, { k, text(v) })
    end
  end
  if #extra > 0 then
    table.sort(extra, function(a, b)
      return a[1] < b[1]
    end)
    extend(lines, { '' })
    extend(lines, M.table({ 'other', 'value' }, extra))
  end
  return lines
end

return M
