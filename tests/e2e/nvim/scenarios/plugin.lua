-- The parts of the plugin that need no running server: commands, setup(),
-- the LSP config, trust storage and prompt, reports in a float, :checkhealth, help.
return function(H)
  local D = H.data
  local hotmod_exe = vim.env.HOTMOD_EXE

  -- user commands from plugin/hotmod.lua
  local commands = vim.api.nvim_get_commands({})
  D.commands = {}
  for name in pairs(commands) do
    if name:match('^Hotmod') then
      table.insert(D.commands, name)
    end
  end
  table.sort(D.commands)

  -- lsp/hotmod.lua is found on the runtimepath before setup()
  local cfg = vim.lsp.config.hotmod
  D.default_config = cfg
      and {
        cmd = cfg.cmd,
        filetypes = cfg.filetypes,
        root_markers = cfg.root_markers,
        has_root_dir_fn = type(cfg.root_dir) == 'function',
        refresh_support = vim.tbl_get(cfg, 'capabilities', 'workspace', 'codeLens', 'refreshSupport'),
        handlers = cfg.handlers and vim.tbl_keys(cfg.handlers) or {},
      }
    or vim.NIL
  D.enabled_before_setup = vim.lsp.is_enabled('hotmod')

  -- setup() validates its options
  D.bad_trust_error = select(2, pcall(require('hotmod').setup, { trust = 'maybe' }))
  D.bad_output_error = select(2, pcall(require('hotmod').setup, { output = 'popup' }))

  -- setup() configures and enables
  require('hotmod').setup({
    cmd = { hotmod_exe, 'serve' },
    settings = { slowThresholdMs = 25, devMode = false },
    trust = 'ask',
  })
  cfg = vim.lsp.config.hotmod
  D.setup_config = {
    cmd = cfg.cmd,
    settings = cfg.settings,
    filetypes = cfg.filetypes,
  }
  D.enabled_after_setup = vim.lsp.is_enabled('hotmod')

  -- before_init sends the settings, the user's init_options and `trusted`
  -- as initializationOptions (Neovim passes init_options in `params`)
  local trust = require('hotmod.trust')
  local ws = vim.env.HOTMOD_WORKSPACE
  local params = { initializationOptions = { python = 'python3.12' } }
  cfg.before_init(params, vim.tbl_extend('force', cfg, { root_dir = ws }))
  D.init_options_untrusted = params.initializationOptions
  vim.g.hotmod_trusted_roots = { ws .. '/' } -- trailing slash: still the same root
  params = { initializationOptions = {} }
  cfg.before_init(params, { root_dir = ws, settings = {} })
  D.init_options_preapproved = params.initializationOptions
  vim.g.hotmod_trusted_roots = nil

  -- trust: stored under stdpath('state'), asked once per root
  D.trust_store = trust.store_path()
  D.state_dir = vim.fn.stdpath('state')
  local asked = 0
  local orig_select = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    asked = asked + 1
    D.prompt = opts.prompt
    D.prompt_items = items
    on_choice(items[1], 1)
  end
  local answers = {}
  trust.resolve(ws, function(t)
    table.insert(answers, t)
  end)
  trust.resolve(ws, function(t) -- a second buffer of the same root while asking
    table.insert(answers, t)
  end)
  H.wait('trust answered', 2000, function()
    return #answers == 2
  end)
  trust.resolve(ws, function(t) -- remembered: no second prompt
    table.insert(answers, t)
  end)
  D.trust_answers = answers
  D.trust_prompts = asked
  D.trust_file_exists = vim.uv.fs_stat(trust.store_path()) ~= nil
  D.trust_file = vim.fn.readfile(trust.store_path())
  D.trust_remembered = trust.get(ws)
  trust.set(ws, nil)
  D.trust_after_forget = trust.get(ws) == nil
  vim.ui.select = orig_select

  -- statusline without a server
  D.statusline_no_server = require('hotmod').statusline()

  -- commands without a server: a readable error, no Lua error
  H.notifications = {}
  vim.cmd('HotmodPerf')
  D.no_server_notifications = vim.deepcopy(H.notifications)

  -- a result's report: the server's markdown, line by line
  local commands = require('hotmod.commands')
  D.report_lines = commands.report_lines({ markdown = '# hotmod: status\n\n| a | b |\n| --- | --- |\n' })
  D.report_missing = commands.report_lines({ dev_mode = true })

  -- ui: a float with the lines, closed by q
  require('hotmod.ui').show('hotmod: test', D.report_lines)
  local last = require('hotmod.ui').last
  D.float = {
    relative = vim.api.nvim_win_get_config(last.winid).relative,
    lines = vim.api.nvim_buf_get_lines(last.bufnr, 0, -1, false),
    filetype = vim.bo[last.bufnr].filetype,
  }
  vim.cmd('normal q')
  D.float_closed = not vim.api.nvim_win_is_valid(last.winid)

  -- :checkhealth hotmod
  vim.cmd('checkhealth hotmod')
  D.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  pcall(vim.cmd, 'tabclose')

  -- ...and with a missing executable
  require('hotmod').setup({ cmd = { '/nonexistent/hotmod', 'serve' }, enable = false })
  vim.cmd('checkhealth hotmod')
  D.health_missing = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  pcall(vim.cmd, 'tabclose')

  -- :helptags and :help
  local doc = vim.env.HOTMOD_PLUGIN_DIR .. '/doc'
  local tags_ok, tags_err = pcall(vim.cmd, 'helptags ' .. vim.fn.fnameescape(doc))
  D.helptags_error = tags_ok and vim.NIL or tostring(tags_err)
  D.tags = vim.fn.filereadable(doc .. '/tags') == 1 and vim.fn.readfile(doc .. '/tags') or {}
  D.help = {}
  for _, tag in ipairs({ 'hotmod', 'hotmod-commands', ':HotmodReload', ':HotmodPerf', ':HotmodProfile', 'hotmod-trust', 'hotmod.setup()', 'hotmod-statusline', 'hotmod-health' }) do
    local ok, err = pcall(vim.cmd.help, tag)
    D.help[tag] = ok and vim.fs.basename(vim.api.nvim_buf_get_name(0)) or tostring(err)
    pcall(vim.cmd.helpclose)
  end
end
