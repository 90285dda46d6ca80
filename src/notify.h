/* notify: the systemd notification protocol (sd_notify), by hand: one
 * datagram to $NOTIFY_SOCKET. Nothing happens when it is not set. */
#ifndef GARCOM_NOTIFY_H
#define GARCOM_NOTIFY_H

/* e.g. notify_send("READY=1\nSTATUS=serving on 2 addresses"). Returns 0,
 * or -errno (which callers may ignore: systemd is optional). */
int notify_send(const char *state);

#endif
