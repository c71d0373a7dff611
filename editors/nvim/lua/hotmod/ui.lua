--- Showing command results: a floating window (default) or a scratch split.
local M = {}

--- The last thing shown: { title, lines, bufnr, winid }.
--- @type {title: string, lines: string[], bufnr: integer, winid: integer}?
M.last = nil

local OUTPUT_NAME = 'hotmod://output'

--- @param lines string[]
--- @param bufnr? integer reuse this buffer
--- @return integer
local function scratch(lines, bufnr)
  if not bufnr or not vim.api.nvim_buf_is_valid(bufnr) then
    bufnr = vim.api.nvim_create_buf(false, true)
  end
  vim.bo[bufnr].modifiable = true
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].modified = false
  vim.bo[bufnr].buftype = 'nofile'
  vim.bo[bufnr].swapfile = false
  vim.bo[bufnr].filetype = 'markdown'
  for _, key in ipairs({ 'q', '<Esc>' }) do
    vim.keymap.set('n', key, '<Cmd>close<CR>', { buffer = bufnr, nowait = true, silent = true })
  end
  return bufnr
end

--- @param title string
--- @param lines string[]
--- @return integer bufnr, integer winid
local function float(title, lines)
  local bufnr = scratch(lines)
  vim.bo[bufnr].bufhidden = 'wipe'
  local width = 20
  for _, l in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l))
  end
  width = math.min(width + 2, math.max(20, math.floor(vim.o.columns * 0.9)))
  local height = math.min(#lines, math.max(3, math.floor((vim.o.lines - vim.o.cmdheight) * 0.8)))
  local winid = vim.api.nvim_open_win(bufnr, true, {
    relative = 'editor',
    width = width,
    height = math.max(height, 1),
    row = math.max(0, math.floor((vim.o.lines - height) / 2) - 1),
    col = math.max(0, math.floor((vim.o.columns - width) / 2)),
    style = 'minimal',
    border = 'rounded',
    title = ' ' .. title .. ' ',
    title_pos = 'center',
  })
  vim.wo[winid].wrap = false
  vim.wo[winid].conceallevel = 2
  -- close when leaving it
  vim.api.nvim_create_autocmd('WinLeave', {
    buffer = bufnr,
    once = true,
    callback = function()
      if vim.api.nvim_win_is_valid(winid) then
        vim.api.nvim_win_close(winid, true)
      end
    end,
  })
  return bufnr, winid
end

--- @param lines string[]
--- @return integer bufnr, integer winid
local function split(lines)
  local existing = vim.fn.bufnr(OUTPUT_NAME)
  local bufnr = scratch(lines, existing > 0 and existing or nil)
  vim.bo[bufnr].bufhidden = 'hide'
  if existing <= 0 then
    vim.api.nvim_buf_set_name(bufnr, OUTPUT_NAME)
  end
  local winid = vim.fn.bufwinid(bufnr)
  if winid == -1 then
    vim.cmd(('botright sbuffer %d'):format(bufnr))
    winid = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_height(winid, math.min(#lines + 1, math.floor(vim.o.lines / 2)))
  else
    vim.api.nvim_set_current_win(winid)
  end
  vim.wo[winid].wrap = false
  vim.api.nvim_win_set_cursor(winid, { 1, 0 })
  return bufnr, winid
end

--- Show `lines` (markdown) under `title`, as configured by `output`.
--- @param title string
--- @param lines string[]
function M.show(title, lines)
  local bufnr, winid
  if require('hotmod').options.output == 'split' then
    bufnr, winid = split(lines)
  else
    bufnr, winid = float(title, lines)
  end
  M.last = { title = title, lines = lines, bufnr = bufnr, winid = winid }
  pcall(vim.api.nvim_exec_autocmds, 'User', {
    pattern = 'HotmodOutput',
    modeline = false,
    data = { title = title, bufnr = bufnr, winid = winid },
  })
end

return M
