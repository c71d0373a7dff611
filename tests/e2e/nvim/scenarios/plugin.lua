-- The parts of the plugin that need no running server: commands, setup(),
-- the LSP config, trust storage and prompt, formatting, :checkhealth, help.
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
    init_options = cfg.init_options,
    settings = cfg.settings,
    filetypes = cfg.filetypes,
  }
  D.enabled_after_setup = vim.lsp.is_enabled('hotmod')

  -- before_init adds `trusted` to the initializationOptions
  local trust = require('hotmod.trust')
  local ws = vim.env.HOTMOD_WORKSPACE
  local params = { initializationOptions = vim.deepcopy(cfg.init_options) }
  cfg.before_init(params, { root_dir = ws })
  D.init_options_untrusted = params.initializationOptions
  vim.g.hotmod_trusted_roots = { ws .. '/' } -- trailing slash: still the same root
  params = { initializationOptions = {} }
  cfg.before_init(params, { root_dir = ws })
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

  -- formatting of results (the contract's shapes)
  local format = require('hotmod.format')
  D.perf_lines = format.performance({
    total_scans = 2,
    average_scan_ms = 3.25,
    total_loads = 10,
    average_load_ms = 1.5,
    slowest = {
      { module = 'shop.checkout', load_ms = 8.4, self_ms = 5.9 },
      { module = 'shop', load_ms = 31.0, self_ms = 31.0 },
    },
    reload_counts = { ['shop.cart'] = 3, shop = 1 },
    slow_loads = {},
    slow_threshold_ms = 50,
    message = '',
  })
  D.memory_lines = format.memory({
    modules = { { module = 'shop.cart', bytes = 2048 }, { module = 'shop', bytes = 10 } },
    total_bytes = 2058,
    total_kb = 2.0,
    total_mb = 0.0,
    loaded_modules = 5,
    message = 'ok',
  })
  D.reload_lines = format.reload_module({
    module = 'shop.cart',
    found = true,
    message = 'Reloaded shop.cart and 1 dependents: 2 failed',
    result = {
      name = 'shop.cart',
      status = 'error',
      load_ms = 2.3,
      self_ms = 1.8,
      memory_bytes = 182,
      diagnostics = {
        { line = 7, code = 'import-error', message = "ImportError: cannot import name 'discount'" },
      },
    },
    dependents = {
      { name = 'shop.checkout', status = 'error', load_ms = 8.4, self_ms = 5.9, memory_bytes = 0, diagnostics = {} },
    },
  })
  D.profile_lines = format.profile({
    module = 'shop.report',
    path = ws .. '/shop/report.py',
    status = 'ok',
    error = vim.NIL,
    total_ms = 71.5,
    memory_traced = true,
    lines = {
      { line = 17, hits = 1, ms = 30.9, self_ms = 30.9, bytes = 2291400, self_bytes = 2291400, text = 'INDEX = build_index(20000)' },
      { line = 18, hits = 1, ms = 23.0, self_ms = 1.1, bytes = 680276, self_bytes = 26916, text = 'TEMPLATES = load_templates()' },
    },
    imports = {
      {
        name = 'shop.catalog', path = ws .. '/shop/catalog.py', project = true, line = 4,
        ms = 2.0, self_ms = 1.1, bytes = 16722, error = vim.NIL,
        children = {
          { name = 'shop.prices', path = ws .. '/shop/prices.py', project = true, line = 3,
            ms = 0.8, self_ms = 0.8, bytes = 4620, error = vim.NIL, children = {} },
        },
      },
      { name = 'org', path = vim.NIL, project = false, line = 60, ms = 1.6, self_ms = 1.6, bytes = 0,
        error = "ModuleNotFoundError: No module named 'org'", children = {} },
    },
    functions = {
      { name = 'shop.report.build_index', path = ws .. '/shop/report.py', line = 7, calls = 1, ms = 30.0, self_ms = 12.0 },
    },
    calls = { name = 'import shop.report', kind = 'root', children = {} },
    truncated = false,
    html = '/cache/hotmod/profiles/shop.report.html',
    message = 'Profiled shop.report (ok): 71.5 ms; hottest line 17 (30.9 ms)',
  })
  D.status_lines = format.status({
    version = '0.1.0',
    trusted = true,
    root = ws,
    python = '/usr/bin/python3',
    python_version = '3.11.7',
    module_count = 5,
    broken_count = 2,
    worker_pid = 123,
    dev_mode = false,
    last_check_ms = 12.5,
    last_check_at = vim.NIL,
    error = vim.NIL,
  })
  D.status_error_lines = format.status({
    version = '0.1.0',
    root = ws,
    module_count = vim.NIL,
    error = 'invalid TOML in pyproject.toml',
  })

  -- ui: a float with the lines, closed by q
  require('hotmod.ui').show('hotmod: test', D.perf_lines)
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
