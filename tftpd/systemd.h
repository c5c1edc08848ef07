/* systemd's two protocols, spoken without libsystemd: socket activation
 * (the sockets passed in LISTEN_FDS) and readiness notification
 * (NOTIFY_SOCKET: Type=notify). Both are plain environment variables and a
 * datagram, documented in sd_listen_fds(3) and sd_notify(3). Outside
 * systemd (no variables) nothing happens. */
#ifndef TFTPD_SYSTEMD_H
#define TFTPD_SYSTEMD_H

/* The first passed descriptor (SD_LISTEN_FDS_START). */
#define TFTPD_LISTEN_FDS_START 3

/* How many sockets were passed to this process (0: none, or they were for
 * another process: LISTEN_PID differs). The variables are removed, so
 * children (workers fork later and call this again) see them only through
 * the value saved by the first call. */
int systemd_listen_fds(void);

/* Send one state line ("READY=1", "STOPPING=1", "RELOADING=1",
 * "STATUS=...") to the service manager, if there is one. Never blocks,
 * never fails loudly: a lost notification is systemd's timeout to see. */
void systemd_notify(const char *state);

#endif
