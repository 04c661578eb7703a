#!/bin/bash
# provision.sh: run inside the field test's Debian root (a chroot, with
# /proc, /sys and /dev mounted, network up) after debootstrap. Installs the
# graphical session a store screen has and sets the system up for the test.
# image.sh runs it: in a chroot on the host for amd64, in the emulated
# machine's initramfs for arm64 (the foreign second stage).
#
#   provision.sh MIRROR SECURITY_MIRROR PACKAGE...
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
mirror=$1 sec_mirror=$2
shift 2

# No service starts inside the chroot.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d

cat >/etc/apt/sources.list <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $sec_mirror bookworm-security main
SOURCES
apt-get update
apt-get install -y --no-install-recommends "$@"

# Locale of the kiosk (the screen's package defaults to en_US.UTF-8).
sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' /etc/locale.gen
locale-gen
printf 'LANG=en_US.UTF-8\n' >/etc/default/locale

printf 'register-ft\n' >/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 register-ft\n::1 localhost ip6-localhost ip6-loopback\n' >/etc/hosts
printf '/dev/vda / ext4 errors=remount-ro 0 1\n' >/etc/fstab
# qemu's user-mode network: DHCP from 10.0.2.2, DNS at 10.0.2.3.
cat >/etc/systemd/network/50-fieldtest.network <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=yes
NET
systemctl enable systemd-networkd.service
# Timers that would take apt's lock in the middle of the test.
systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer

# The kiosk user, logged in to an Openbox session by LightDM.
id kiosk >/dev/null 2>&1 || adduser --disabled-password --gecos kiosk kiosk
mkdir -p /etc/lightdm/lightdm.conf.d
cat >/etc/lightdm/lightdm.conf.d/50-fieldtest.conf <<'LDM'
[Seat:*]
autologin-user=kiosk
autologin-user-timeout=0
autologin-session=openbox
user-session=openbox
LDM
# root on the serial console without a password (a throwaway test system).
passwd -d root

# The command runner on the virtio-serial port (ft-runner, copied here by
# image.sh), started when the port appears.
cat >/etc/systemd/system/ft-runner.service <<'UNIT'
[Unit]
Description=posdisplay field test command runner (virtio-serial)
After=local-fs.target
ConditionPathExists=/dev/virtio-ports/ft

[Service]
ExecStart=/usr/local/sbin/ft-runner /dev/virtio-ports/ft
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
systemctl enable ft-runner.service
printf 'ACTION=="add", KERNEL=="vport*", ATTR{name}=="ft", TAG+="systemd", ENV{SYSTEMD_WANTS}+="ft-runner.service"\n' \
	>/etc/udev/rules.d/90-ft-runner.rules

printf 'nameserver 10.0.2.3\n' >/etc/resolv.conf
rm -f /usr/sbin/policy-rc.d
apt-get clean
