;;; driver.el --- eglot against the real hotmod server, in `emacs --batch'  -*- lexical-binding: t -*-

;; Run by test_emacs_e2e.py: emacs --batch -Q -l driver.el, with
;;   HOTMOD_EMACS_CONFIG  the user's configuration, as docs/editors.md shows it
;;   HOTMOD_WORKSPACE     a copy of examples/ (shop.cart broken, shop.checkout imports it)
;;   HOTMOD_RESULTS       where the observations go (JSON), for pytest to judge
;;   HOTMOD_TIMEOUT_S     hard timeout of the whole run
;; and `hotmod' on PATH. What a user does is done the user's way: `M-x eglot',
;; the config's `hotmod-command', editing and `save-buffer'.

(require 'json)
(require 'flymake)

(defvar hotmod-test-data (make-hash-table :test 'equal) "Observations, by name.")
(defvar hotmod-test-steps nil "Each wait: (name ok ms), newest first.")
(defvar hotmod-test-errors nil)
(defvar hotmod-test-start (float-time))
(defvar hotmod-test-written nil)

(defun hotmod-test-ms () (* 1000 (- (float-time) hotmod-test-start)))

(defun hotmod-test-put (name value) (puthash name value hotmod-test-data))

(defun hotmod-test-write (&optional timed-out)
  (unless hotmod-test-written
    (setq hotmod-test-written t)
    (let ((coding-system-for-write 'utf-8)
          (steps (mapcar (lambda (s) `((name . ,(nth 0 s)) (ok . ,(if (nth 1 s) t :false))
                                        (ms . ,(nth 2 s))))
                         (reverse hotmod-test-steps))))
      (with-temp-file (getenv "HOTMOD_RESULTS")
        (insert (json-serialize
                 `((data . ,hotmod-test-data)
                   (steps . ,(vconcat steps))
                   (errors . ,(vconcat (reverse hotmod-test-errors)))
                   (timed_out . ,(if timed-out t :false)))
                 :false-object :false))))))

(defun hotmod-test-wait (name seconds predicate)
  "Wait up to SECONDS for PREDICATE, letting Emacs run the server's messages."
  (let ((deadline (+ (float-time) seconds)) ok)
    (while (and (not (setq ok (ignore-errors (funcall predicate))))
                (< (float-time) deadline))
      (accept-process-output nil 0.02))
    (push (list name (and ok t) (hotmod-test-ms)) hotmod-test-steps)
    ok))

(defun hotmod-test-diagnostics (buffer)
  "BUFFER's flymake diagnostics: [{line, type, text}]."
  (with-current-buffer buffer
    (vconcat
     (mapcar (lambda (d)
               `((line . ,(line-number-at-pos (flymake-diagnostic-beg d)))
                 (type . ,(symbol-name (flymake-diagnostic-type d)))
                 (text . ,(flymake-diagnostic-text d))))
             (flymake-diagnostics)))))

(defun hotmod-test-unvisited-diagnostics (file)
  "Texts of what flymake lists for FILE, which no buffer visits."
  (vconcat (mapcar #'flymake-diagnostic-text
                   (cdr (assoc file flymake-list-only-diagnostics)))))

(defun hotmod-test-messages ()
  (with-current-buffer "*Messages*" (buffer-substring-no-properties (point-min) (point-max))))

(defun hotmod-test-report-buffer ()
  "A buffer visiting one of the server's Markdown reports."
  (seq-find (lambda (b) (string-match-p "/reports/[^/]+\\.md\\'" (or (buffer-file-name b) "")))
            (buffer-list)))

(defun hotmod-test-scenario (ws)
  (let* ((cart-file (expand-file-name "shop/cart.py" ws))
         (checkout-file (expand-file-name "shop/checkout.py" ws))
         cart server process)
    ;; open the broken module and start eglot as a user does: M-x eglot
    (find-file cart-file)
    (setq cart (current-buffer))
    (hotmod-test-put "major_mode" (symbol-name major-mode))
    (call-interactively #'eglot)
    (setq server (eglot-current-server))
    (setq process (jsonrpc--process server))
    (hotmod-test-put "project_root" (expand-file-name (project-root (project-current))))
    (hotmod-test-put "commands" (eglot-server-capable :executeCommandProvider :commands))

    (hotmod-test-wait "diagnostics on open" 30
      (lambda () (and (flymake-diagnostics)
                      (cdr (assoc checkout-file flymake-list-only-diagnostics)))))
    (hotmod-test-put "cart_diagnostics" (hotmod-test-diagnostics cart))
    (hotmod-test-put "checkout_diagnostics" (hotmod-test-unvisited-diagnostics checkout-file))

    ;; a file opened after its check: flymake shows only what arrives while
    ;; the buffer is open, so the server sends its diagnostics again on didOpen
    (find-file checkout-file)
    ;; flymake starts on a buffer once it is displayed, which a batch Emacs
    ;; never redisplays: run what redisplay runs
    (run-window-configuration-change-hook)
    (hotmod-test-wait "diagnostics of a file opened after the check" 10
      (lambda () (and (eglot-managed-p) (flymake-diagnostics))))
    (hotmod-test-put "checkout_opened_diagnostics" (hotmod-test-diagnostics (current-buffer)))
    ;; closed again: its later diagnostics go to the project-wide list
    (kill-buffer (current-buffer))
    (switch-to-buffer cart)

    ;; a command whose result is one line: a message
    (hotmod-command "hotmod.toggleDevMode")
    (hotmod-test-wait "dev mode message" 10
      (lambda () (string-match-p "hotmod: Dev mode is now" (hotmod-test-messages))))
    (hotmod-test-put "messages" (hotmod-test-messages))

    ;; a command whose result is a report: a Markdown document eglot opens
    (with-current-buffer cart (hotmod-command "hotmod.reloadModule"))
    (when (hotmod-test-wait "report opened" 10 #'hotmod-test-report-buffer)
      (with-current-buffer (hotmod-test-report-buffer)
        (hotmod-test-put "report_file" (buffer-file-name))
        (hotmod-test-put "report_text" (buffer-substring-no-properties (point-min) (point-max)))))

    ;; the fix: define discount() in prices.py and save
    (find-file (expand-file-name "shop/prices.py" ws))
    (hotmod-test-wait "prices managed" 10 (lambda () (eglot-managed-p)))
    (goto-char (point-max))
    (insert "\n\ndef discount(amount: float) -> float:\n    return amount\n")
    (save-buffer)
    (hotmod-test-wait "diagnostics cleared" 30
      (lambda () (and (null (with-current-buffer cart (flymake-diagnostics)))
                      (assoc checkout-file flymake-list-only-diagnostics)
                      (null (cdr (assoc checkout-file flymake-list-only-diagnostics))))))
    (hotmod-test-put "cart_diagnostics_after" (hotmod-test-diagnostics cart))
    (hotmod-test-put "checkout_diagnostics_after"
                     (hotmod-test-unvisited-diagnostics checkout-file))
    (hotmod-test-put "events"
                     (with-current-buffer (jsonrpc-events-buffer server)
                       (buffer-substring-no-properties (point-min) (point-max))))
    (hotmod-test-put "server_stderr"
                     (with-current-buffer (jsonrpc-stderr-buffer server)
                       (buffer-substring-no-properties (point-min) (point-max))))

    ;; shutdown, as M-x eglot-shutdown: jsonrpc kills a server whose exit it
    ;; has not seen 0.1 s after `exit' (status 9). The server is gone within
    ;; milliseconds, but a batch Emacs never handles file-notify events: the
    ;; watches eglot made for the server's didChangeWatchedFiles registration,
    ;; once a file changed, keep `accept-process-output' from running the
    ;; process sentinel. An interactive Emacs reads them (status 0 there).
    (file-notify-rm-all-watches)
    (eglot-shutdown server)
    (hotmod-test-put "server_exit_status" (process-exit-status process))
    (hotmod-test-put "messages_at_end" (hotmod-test-messages))))

(run-with-timer (string-to-number (or (getenv "HOTMOD_TIMEOUT_S") "60")) nil
                (lambda () (hotmod-test-write t) (kill-emacs 3)))
(condition-case err
    (progn
      (load (getenv "HOTMOD_EMACS_CONFIG") nil t)
      (hotmod-test-scenario (file-name-as-directory (getenv "HOTMOD_WORKSPACE"))))
  (error (push (format "%S" err) hotmod-test-errors)))
(hotmod-test-write)
(kill-emacs 0)
