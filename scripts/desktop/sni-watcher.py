#!/usr/bin/python3
"""A minimal org.kde.StatusNotifierWatcher (and host) for the headless test desktop.

Tray items register with it as they would with a desktop panel; tests read
RegisteredStatusNotifierItems ("<bus name><object path>") to find the app's item.
Run with /usr/bin/python3 (Debian's python3-dbus-next).
"""
import asyncio

from dbus_next import BusType, Message, MessageType
from dbus_next.aio import MessageBus
from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, method, signal


class Watcher(ServiceInterface):
    def __init__(self, bus):
        super().__init__("org.kde.StatusNotifierWatcher")
        self.bus = bus
        self.items = []
        self.sender = None

    @method()
    def RegisterStatusNotifierItem(self, service: "s"):
        item = self.sender + service if service.startswith("/") else service
        if item not in self.items:
            self.items.append(item)
            self.StatusNotifierItemRegistered(item)

    @method()
    def RegisterStatusNotifierHost(self, service: "s"):
        pass

    @dbus_property(access=PropertyAccess.READ)
    def RegisteredStatusNotifierItems(self) -> "as":
        return self.items

    @dbus_property(access=PropertyAccess.READ)
    def IsStatusNotifierHostRegistered(self) -> "b":
        return True

    @dbus_property(access=PropertyAccess.READ)
    def ProtocolVersion(self) -> "i":
        return 0

    @signal()
    def StatusNotifierItemRegistered(self, item) -> "s":
        return item

    @signal()
    def StatusNotifierItemUnregistered(self, item) -> "s":
        return item

    def forget(self, name):
        for item in [i for i in self.items if i.startswith(name + "/") or i == name]:
            self.items.remove(item)
            self.StatusNotifierItemUnregistered(item)


async def main():
    bus = await MessageBus(bus_type=BusType.SESSION).connect()
    watcher = Watcher(bus)

    def remember_sender(message):
        if message.message_type == MessageType.METHOD_CALL and message.member == "RegisterStatusNotifierItem":
            watcher.sender = message.sender
        if message.message_type == MessageType.SIGNAL and message.member == "NameOwnerChanged":
            name, _old, new = message.body
            if not new:
                watcher.forget(name)
        return None

    bus.add_message_handler(remember_sender)
    await bus.call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                           interface="org.freedesktop.DBus", member="AddMatch",
                           signature="s", body=["type='signal',member='NameOwnerChanged'"]))
    bus.export("/StatusNotifierWatcher", watcher)
    await bus.request_name("org.kde.StatusNotifierWatcher")
    print("sni-watcher: ready", flush=True)
    await asyncio.get_running_loop().create_future()


asyncio.run(main())
