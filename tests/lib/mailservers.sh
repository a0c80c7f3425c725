# tests/lib/mailservers.sh — real mail servers for the mail tests: an
# OpenSMTPD delivering every recipient to a maildir, and a Dovecot serving
# those maildirs by IMAP and POP3, all on free loopback ports, with config
# files in the test's trash directory.  Source after test-lib.sh.
#
#   mail_servers_start [MAX_MESSAGE_SIZE]   0, or 1 with $MAIL_SKIP set
#   mail_servers_stop                       (also done by an EXIT trap)
#
# After a start: SMTP_PORT, IMAP_PORT, POP3_PORT, MAILDIRS (DIR/USER is
# USER's maildir), and users a, b, c with password "secret-USER".  When
# openssl can make a self-signed certificate for "localhost" (MAIL_CERT,
# a PEM file), Dovecot also speaks TLS on IMAPS_PORT and POP3S_PORT;
# otherwise those are empty.

MAIL_PIDS=""

# free_port: prints a TCP port nobody listens on at 127.0.0.1.
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait_port PORT: waits up to 10 s until something accepts on PORT.
wait_port() {
	python3 -c 'import socket, sys, time
for i in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)' "$1"
}

mail_servers_stop() {
	for _p in $MAIL_PIDS; do
		kill "$_p" 2>/dev/null
	done
	for _p in $MAIL_PIDS; do
		_i=0
		while kill -0 "$_p" 2>/dev/null && [ $_i -lt 50 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		kill -9 "$_p" 2>/dev/null
	done
	MAIL_PIDS=""
}

mail_servers_start() {
	MAIL_SKIP=""
	if [ "$(id -u)" != 0 ]; then
		MAIL_SKIP="the mail servers need root (they deliver as user mail)"
		return 1
	fi
	for _b in /usr/sbin/smtpd /usr/sbin/dovecot; do
		if ! [ -x "$_b" ]; then
			MAIL_SKIP="$_b is not installed (scripts/deps.sh installs opensmtpd, dovecot-imapd, dovecot-pop3d)"
			return 1
		fi
	done
	id mail >/dev/null 2>&1 && id dovecot >/dev/null 2>&1 &&
		id dovenull >/dev/null 2>&1 || {
		MAIL_SKIP="the users mail, dovecot and dovenull are missing"
		return 1
	}
	_m=$TRASH/mailsrv
	MAILDIRS=$_m/maildirs
	rm -rf "$_m" && mkdir -p "$MAILDIRS" "$_m/run" "$_m/state" || return 1
	chown mail:mail "$MAILDIRS" && chmod 0755 "$_m" "$_m/run" || return 1
	SMTP_PORT=$(free_port) && IMAP_PORT=$(free_port) &&
		POP3_PORT=$(free_port) || return 1
	IMAPS_PORT="" POP3S_PORT="" MAIL_CERT="" _ssl="ssl = no" _imaps=0 _pop3s=0
	if command -v openssl >/dev/null 2>&1 &&
	    openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
	    -keyout "$_m/key.pem" -out "$_m/cert.pem" >/dev/null 2>&1; then
		chmod 0600 "$_m/key.pem"
		MAIL_CERT=$_m/cert.pem
		IMAPS_PORT=$(free_port) && POP3S_PORT=$(free_port) || return 1
		_imaps=$IMAPS_PORT _pop3s=$POP3S_PORT
		_ssl="ssl = yes
	ssl_cert = <$_m/cert.pem
	ssl_key = <$_m/key.pem"
	fi
	cat >"$_m/smtpd.conf" <<-SMTPEOF
	table vusers { "@" = "mail" }
	smtp max-message-size ${1:-50M}
	listen on 127.0.0.1 port $SMTP_PORT
	action "deliver" maildir "$MAILDIRS/%{rcpt.user}" virtual <vusers>
	match from any for any action "deliver"
	SMTPEOF
	for _u in a b c; do
		echo "$_u:{PLAIN}secret-$_u"
	done >"$_m/passwd"
	cat >"$_m/dovecot.conf" <<-DOVEOF
	base_dir = $_m/run
	state_dir = $_m/state
	log_path = $_m/dovecot.log
	protocols = imap pop3
	listen = 127.0.0.1
	$_ssl
	disable_plaintext_auth = no
	auth_mechanisms = plain login
	passdb {
	  driver = passwd-file
	  args = scheme=PLAIN username_format=%u $_m/passwd
	}
	userdb {
	  driver = static
	  args = uid=mail gid=mail home=$MAILDIRS/%u
	}
	default_internal_user = dovecot
	first_valid_uid = 1
	first_valid_gid = 1
	auth_failure_delay = 0
	default_login_user = dovenull
	mail_location = maildir:$MAILDIRS/%u
	pop3_uidl_format = %08Xu%08Xv
	service imap-login {
	  inet_listener imap {
	    address = 127.0.0.1
	    port = $IMAP_PORT
	  }
	  inet_listener imaps {
	    address = 127.0.0.1
	    port = $_imaps
	  }
	}
	service pop3-login {
	  inet_listener pop3 {
	    address = 127.0.0.1
	    port = $POP3_PORT
	  }
	  inet_listener pop3s {
	    address = 127.0.0.1
	    port = $_pop3s
	  }
	}
	service anvil {
	  chroot =
	}
	DOVEOF
	trap 'mail_servers_stop' EXIT
	# Where mount namespaces work, OpenSMTPD gets a private /run (its
	# control socket) and queue, so that a system smtpd, running or not,
	# neither stops it nor shares its mail.
	if unshare -m true 2>/dev/null; then
		unshare -m sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run &&
		    { [ -d /var/spool/smtpd ] || { mount -t tmpfs -o mode=0755 tmpfs /var/spool && mkdir /var/spool/smtpd; }; } && mount -t tmpfs -o mode=0711 tmpfs /var/spool/smtpd &&
		    exec /usr/sbin/smtpd -d -f "$1"' sh "$_m/smtpd.conf" \
		    >"$_m/smtpd.log" 2>&1 &
	else
		/usr/sbin/smtpd -d -f "$_m/smtpd.conf" >"$_m/smtpd.log" 2>&1 &
	fi
	MAIL_PIDS="$MAIL_PIDS $!"
	/usr/sbin/dovecot -F -c "$_m/dovecot.conf" >"$_m/dovecot.out" 2>&1 &
	MAIL_PIDS="$MAIL_PIDS $!"
	if ! wait_port "$SMTP_PORT" || ! wait_port "$IMAP_PORT" ||
	    ! wait_port "$POP3_PORT" ||
	    { [ -n "$IMAPS_PORT" ] && ! wait_port "$IMAPS_PORT"; }; then
		MAIL_SKIP="the mail servers did not start: $(tail -n 3 "$_m/smtpd.log" "$_m/dovecot.out" "$_m/dovecot.log" 2>/dev/null | tr '\n' ' ')"
		mail_servers_stop
		return 1
	fi
	return 0
}
