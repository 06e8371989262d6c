"""US home towns for simulated card holders (approximate coordinates and populations).

Sparkov customers live mostly in small towns (the Kaggle median ``city_pop`` is about 2,500)
with some in big cities, so the list mixes both. Zip codes are stored as integers because
the Kaggle files write them that way (New England zips lose their leading zero).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt


class City(NamedTuple):
    """A home town: where a customer lives and where account-takeover fraud may appear."""

    name: str
    state: str
    zip_code: int
    lat: float
    long: float
    population: int


CITIES: tuple[City, ...] = (
    City("New York", "NY", 10001, 40.7128, -74.0060, 8336817),
    City("Los Angeles", "CA", 90012, 34.0522, -118.2437, 3898747),
    City("Chicago", "IL", 60601, 41.8781, -87.6298, 2746388),
    City("Houston", "TX", 77002, 29.7604, -95.3698, 2304580),
    City("Phoenix", "AZ", 85004, 33.4484, -112.0740, 1608139),
    City("Philadelphia", "PA", 19103, 39.9526, -75.1652, 1603797),
    City("San Antonio", "TX", 78205, 29.4241, -98.4936, 1434625),
    City("San Diego", "CA", 92101, 32.7157, -117.1611, 1386932),
    City("Dallas", "TX", 75201, 32.7767, -96.7970, 1304379),
    City("San Jose", "CA", 95113, 37.3382, -121.8863, 1013240),
    City("Austin", "TX", 78701, 30.2672, -97.7431, 961855),
    City("Jacksonville", "FL", 32202, 30.3322, -81.6557, 949611),
    City("Columbus", "OH", 43215, 39.9612, -82.9988, 905748),
    City("Charlotte", "NC", 28202, 35.2271, -80.8431, 874579),
    City("Indianapolis", "IN", 46204, 39.7684, -86.1581, 887642),
    City("San Francisco", "CA", 94102, 37.7749, -122.4194, 873965),
    City("Seattle", "WA", 98101, 47.6062, -122.3321, 737015),
    City("Denver", "CO", 80202, 39.7392, -104.9903, 715522),
    City("Washington", "DC", 20001, 38.9072, -77.0369, 689545),
    City("Boston", "MA", 2108, 42.3601, -71.0589, 675647),
    City("Nashville", "TN", 37203, 36.1627, -86.7816, 689447),
    City("Detroit", "MI", 48226, 42.3314, -83.0458, 639111),
    City("Portland", "OR", 97204, 45.5152, -122.6784, 652503),
    City("Las Vegas", "NV", 89101, 36.1699, -115.1398, 641903),
    City("Memphis", "TN", 38103, 35.1495, -90.0490, 633104),
    City("Louisville", "KY", 40202, 38.2527, -85.7585, 617638),
    City("Baltimore", "MD", 21202, 39.2904, -76.6122, 585708),
    City("Milwaukee", "WI", 53202, 43.0389, -87.9065, 577222),
    City("Albuquerque", "NM", 87102, 35.0844, -106.6504, 564559),
    City("Tucson", "AZ", 85701, 32.2226, -110.9747, 542629),
    City("Fresno", "CA", 93721, 36.7378, -119.7871, 542107),
    City("Sacramento", "CA", 95814, 38.5816, -121.4944, 524943),
    City("Kansas City", "MO", 64106, 39.0997, -94.5786, 508090),
    City("Atlanta", "GA", 30303, 33.7490, -84.3880, 498715),
    City("Omaha", "NE", 68102, 41.2565, -95.9345, 486051),
    City("Miami", "FL", 33130, 25.7617, -80.1918, 442241),
    City("Minneapolis", "MN", 55401, 44.9778, -93.2650, 429954),
    City("Tulsa", "OK", 74103, 36.1540, -95.9928, 413066),
    City("New Orleans", "LA", 70112, 29.9511, -90.0715, 383997),
    City("Cleveland", "OH", 44113, 41.4993, -81.6944, 372624),
    City("El Paso", "TX", 79901, 31.7619, -106.4850, 678815),
    City("Wichita", "KS", 67202, 37.6872, -97.3301, 397532),
    City("Raleigh", "NC", 27601, 35.7796, -78.6382, 467665),
    City("Tampa", "FL", 33602, 27.9506, -82.4572, 384959),
    City("Orlando", "FL", 32801, 28.5383, -81.3792, 307573),
    City("Pittsburgh", "PA", 15222, 40.4406, -79.9959, 302971),
    City("St. Louis", "MO", 63101, 38.6270, -90.1994, 301578),
    City("Cincinnati", "OH", 45202, 39.1031, -84.5120, 309317),
    City("Honolulu", "HI", 96813, 21.3069, -157.8583, 345064),
    City("Anchorage", "AK", 99501, 61.2181, -149.9003, 291247),
    City("Lincoln", "NE", 68508, 40.8136, -96.7026, 291082),
    City("Buffalo", "NY", 14202, 42.8864, -78.8784, 278349),
    City("Madison", "WI", 53703, 43.0731, -89.4012, 269840),
    City("Reno", "NV", 89501, 39.5296, -119.8138, 264165),
    City("Boise", "ID", 83702, 43.6150, -116.2023, 235684),
    City("Spokane", "WA", 99201, 47.6588, -117.4260, 228989),
    City("Richmond", "VA", 23219, 37.5407, -77.4360, 226610),
    City("Des Moines", "IA", 50309, 41.5868, -93.6250, 214133),
    City("Little Rock", "AR", 72201, 34.7465, -92.2896, 202591),
    City("Birmingham", "AL", 35203, 33.5186, -86.8104, 200733),
    City("Salt Lake City", "UT", 84101, 40.7608, -111.8910, 199723),
    City("Grand Rapids", "MI", 49503, 42.9634, -85.6681, 198917),
    City("Sioux Falls", "SD", 57104, 43.5446, -96.7311, 192517),
    City("Providence", "RI", 2903, 41.8240, -71.4128, 190934),
    City("Knoxville", "TN", 37902, 35.9606, -83.9207, 190740),
    City("Eugene", "OR", 97401, 44.0521, -123.0868, 176654),
    City("Jackson", "MS", 39201, 32.2988, -90.1848, 153701),
    City("Savannah", "GA", 31401, 32.0809, -81.0912, 147780),
    City("Columbia", "SC", 29201, 34.0007, -81.0348, 136632),
    City("Fargo", "ND", 58102, 46.8772, -96.7898, 125990),
    City("Hartford", "CT", 6103, 41.7658, -72.6734, 121054),
    City("Rochester", "MN", 55902, 44.0121, -92.4802, 121395),
    City("Billings", "MT", 59101, 45.7833, -108.5007, 117116),
    City("Manchester", "NH", 3101, 42.9956, -71.4548, 115644),
    City("Bend", "OR", 97701, 44.0582, -121.3153, 99178),
    City("Bloomington", "IN", 47401, 39.1653, -86.5264, 79168),
    City("Wilmington", "DE", 19801, 39.7391, -75.5398, 70898),
    City("Eau Claire", "WI", 54701, 44.8113, -91.4985, 68802),
    City("Portland", "ME", 4101, 43.6591, -70.2568, 68408),
    City("Ames", "IA", 50010, 42.0308, -93.6319, 66427),
    City("Cheyenne", "WY", 82001, 41.1400, -104.8202, 65132),
    City("Lake Havasu City", "AZ", 86403, 34.4839, -114.3225, 57144),
    City("Valdosta", "GA", 31601, 30.8327, -83.2785, 55378),
    City("Bozeman", "MT", 59715, 45.6770, -111.0429, 53293),
    City("Logan", "UT", 84321, 41.7370, -111.8338, 52778),
    City("Twin Falls", "ID", 83301, 42.5558, -114.4701, 51807),
    City("Charleston", "WV", 25301, 38.3498, -81.6326, 48864),
    City("Minot", "ND", 58701, 48.2330, -101.2923, 48377),
    City("Hilo", "HI", 96720, 19.7241, -155.0868, 45703),
    City("Burlington", "VT", 5401, 44.4759, -73.2121, 44743),
    City("Hot Springs", "AR", 71901, 34.5037, -93.0552, 37930),
    City("Walla Walla", "WA", 99362, 46.0646, -118.3430, 34060),
    City("Nacogdoches", "TX", 75961, 31.6035, -94.6555, 32996),
    City("Houma", "LA", 70360, 29.5958, -90.7195, 32696),
    City("Juneau", "AK", 99801, 58.3019, -134.4197, 32255),
    City("Ithaca", "NY", 14850, 42.4440, -76.5019, 32108),
    City("Laramie", "WY", 82070, 41.3114, -105.5911, 31407),
    City("Oxford", "MS", 38655, 34.3665, -89.5192, 28122),
    City("Dodge City", "KS", 67801, 37.7528, -100.0171, 27788),
    City("Eureka", "CA", 95501, 40.8021, -124.1637, 26512),
    City("Key West", "FL", 33040, 24.5551, -81.7800, 26444),
    City("Staunton", "VA", 24401, 38.1496, -79.0717, 25750),
    City("Athens", "OH", 45701, 39.3292, -82.1013, 23849),
    City("Fairhope", "AL", 36532, 30.5229, -87.9033, 22477),
    City("Gallup", "NM", 87301, 35.5281, -108.7426, 21899),
    City("Carbondale", "IL", 62901, 37.7273, -89.2168, 21857),
    City("Marquette", "MI", 49855, 46.5436, -87.3954, 20629),
    City("Elko", "NV", 89801, 40.8324, -115.7631, 20564),
    City("Boone", "NC", 28607, 36.2168, -81.6746, 19092),
    City("Durango", "CO", 81301, 37.2753, -107.8801, 19071),
    City("Natchitoches", "LA", 71457, 31.7607, -93.0863, 17703),
    City("Hannibal", "MO", 63401, 39.7084, -91.3585, 17108),
    City("Easton", "MD", 21601, 38.7743, -76.0763, 16993),
    City("Tahlequah", "OK", 74464, 35.9154, -94.9699, 16753),
    City("Bemidji", "MN", 56601, 47.4736, -94.8803, 15434),
    City("Natchez", "MS", 39120, 31.5604, -91.4032, 14520),
    City("Scottsbluff", "NE", 69361, 41.8666, -103.6672, 14436),
    City("Nantucket", "MA", 2554, 41.2835, -70.0995, 14255),
    City("Pierre", "SD", 57501, 44.3683, -100.3510, 14091),
    City("Beaufort", "SC", 29902, 32.4316, -80.6698, 13607),
    City("Marietta", "OH", 45750, 39.4154, -81.4548, 13385),
    City("Eufaula", "AL", 36027, 31.8913, -85.1455, 12882),
    City("Guymon", "OK", 73942, 36.6828, -101.4816, 12672),
    City("Branson", "MO", 65616, 36.6437, -93.2185, 12638),
    City("Madison", "IN", 47250, 38.7359, -85.3799, 12198),
    City("Fredericksburg", "TX", 78624, 30.2752, -98.8720, 11496),
    City("Jackson", "WY", 83001, 43.4799, -110.7624, 10760),
    City("Sebring", "FL", 33870, 27.4956, -81.4409, 10729),
    City("Astoria", "OR", 97103, 46.1879, -123.8313, 10181),
    City("Port Townsend", "WA", 98368, 48.1170, -122.7604, 10148),
    City("Sedona", "AZ", 86336, 34.8697, -111.7610, 10031),
    City("Cody", "WY", 82414, 44.5263, -109.0565, 10028),
    City("Sturgeon Bay", "WI", 54235, 44.8342, -87.3770, 9646),
    City("Sandpoint", "ID", 83864, 48.2766, -116.5535, 8639),
    City("Houghton", "MI", 49931, 47.1211, -88.5694, 8386),
    City("Abingdon", "VA", 24210, 36.7098, -81.9773, 8191),
    City("Whitefish", "MT", 59937, 48.4106, -114.3528, 7751),
    City("Decorah", "IA", 52101, 43.3033, -91.7857, 7587),
    City("Page", "AZ", 86040, 36.9147, -111.4558, 7440),
    City("Dahlonega", "GA", 30533, 34.5326, -83.9849, 7136),
    City("Gettysburg", "PA", 17325, 39.8309, -77.2311, 7106),
    City("Elkins", "WV", 26241, 38.9262, -79.8467, 6950),
    City("Taos", "NM", 87571, 36.4072, -105.5731, 6474),
    City("Abilene", "KS", 67410, 38.9172, -97.2139, 6460),
    City("Alpine", "TX", 79830, 30.3585, -103.6610, 5905),
    City("Petoskey", "MI", 49770, 45.3736, -84.9553, 5877),
    City("Moab", "UT", 84532, 38.5733, -109.5498, 5366),
    City("Bar Harbor", "ME", 4609, 44.3876, -68.2039, 5235),
    City("Kanab", "UT", 84741, 37.0475, -112.5263, 4974),
    City("Saranac Lake", "NY", 12983, 44.3295, -74.1313, 4887),
    City("Stowe", "VT", 5672, 44.4654, -72.6874, 4314),
    City("Mystic", "CT", 6355, 41.3543, -71.9665, 4205),
    City("Ely", "NV", 89301, 39.2474, -114.8886, 4015),
    City("Bishop", "CA", 93514, 37.3635, -118.3951, 3879),
    City("Lewisburg", "WV", 24901, 37.8018, -80.4456, 3830),
    City("Nome", "AK", 99762, 64.5011, -165.4064, 3699),
    City("Ely", "MN", 55731, 47.9032, -91.8671, 3460),
    City("Galena", "IL", 61036, 42.4167, -90.4290, 3308),
    City("Lewes", "DE", 19958, 38.7746, -75.1393, 3303),
    City("Wellsboro", "PA", 16901, 41.7487, -77.3005, 3300),
    City("Glasgow", "MT", 59230, 48.1969, -106.6367, 3202),
    City("Cape May", "NJ", 8204, 38.9351, -74.9060, 2768),
    City("Valentine", "NE", 69201, 42.8728, -100.5510, 2737),
    City("Ketchum", "ID", 83340, 43.6807, -114.3637, 2689),
    City("Apalachicola", "FL", 32320, 29.7258, -84.9832, 2341),
    City("Red Lodge", "MT", 59068, 45.1858, -109.2468, 2257),
    City("Eureka Springs", "AR", 72632, 36.4012, -93.7380, 2166),
    City("Cooperstown", "NY", 13326, 42.7006, -74.9243, 1794),
    City("Marfa", "TX", 79843, 30.3094, -104.0206, 1788),
    City("Manteo", "NC", 27954, 35.9082, -75.6757, 1602),
    City("Mariposa", "CA", 95338, 37.4849, -119.9663, 1526),
    City("Grand Marais", "MN", 55604, 47.7505, -90.3343, 1337),
    City("Deadwood", "SD", 57732, 44.3767, -103.7296, 1270),
    City("Silverton", "CO", 81433, 37.8119, -107.6645, 622),
    City("Medora", "ND", 58645, 46.9139, -103.5244, 132),
)

EARTH_RADIUS_KM = 6371.0


def haversine_km(
    lat1: npt.ArrayLike, long1: npt.ArrayLike, lat2: npt.ArrayLike, long2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distance in km (broadcasting), to place fraud far from a card's home."""
    phi1, lambda1, phi2, lambda2 = (
        np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, long1, lat2, long2)
    )
    half = (
        np.sin((phi2 - phi1) / 2) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin((lambda2 - lambda1) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(half)), dtype=np.float64)


CITY_LAT: npt.NDArray[np.float64] = np.array([city.lat for city in CITIES])
CITY_LONG: npt.NDArray[np.float64] = np.array([city.long for city in CITIES])
#: Distance in km between every pair of built-in cities.
CITY_DISTANCE_KM: npt.NDArray[np.float64] = haversine_km(
    CITY_LAT[:, None], CITY_LONG[:, None], CITY_LAT[None, :], CITY_LONG[None, :]
)
